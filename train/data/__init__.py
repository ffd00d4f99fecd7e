"""Data: the manifest format (manifest.py) and the builders that write manifests from corpora."""
