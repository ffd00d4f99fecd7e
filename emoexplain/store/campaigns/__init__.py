"""Annotation campaigns: a shared queue of clips, several people per clip, the model's least sure clips first,
gold clips, annotator quality and consensus (docs/campaigns.md).

    from emoexplain.store import open_store
    from emoexplain.store import campaigns
    store = open_store("data/emoexplain.db")
    campaigns.create_campaign(store, "pilot", "clips/", per_clip=3, label_set="iemocap4", owner="lab")
    campaigns.analyse_campaign(store, "pilot").wait()          # background worker, progress callbacks
    offer = campaigns.next_clip(store, "pilot", "ada")         # leased clip + analysis + analysis_token
    campaigns.submit(store, "pilot", "ada", analysis_id=offer["analysis_id"],
                     analysis_token=offer["analysis_token"], emotion="sad")
    campaigns.status(store, "pilot"); campaigns.quality(store, "pilot")
    rows = campaigns.training_examples(store, "pilot", min_agreement=0.6)
"""

from emoexplain.store.campaigns.admin import (delete_campaign, delete_my_judgements, exclude, include,
                                              list_campaigns, my_judgements, set_open)
from emoexplain.store.campaigns.consensus import campaign_agreement, consensus, dawid_skene, quality
from emoexplain.store.campaigns.create import (QUEUE_ORDERS, AnalysisJob, analyse_campaign, create_campaign,
                                               uncertainty, wait_for)
from emoexplain.store.campaigns.queue import analysis_dict, next_clip, skip, submit
from emoexplain.store.campaigns.report import CONSENSUS_METHODS, export, status, training_examples, what_is_kept

__all__ = [
    "CONSENSUS_METHODS", "QUEUE_ORDERS", "AnalysisJob", "analyse_campaign", "analysis_dict", "campaign_agreement",
    "consensus", "create_campaign", "dawid_skene", "delete_campaign", "delete_my_judgements", "exclude", "export",
    "include", "list_campaigns", "my_judgements", "next_clip", "quality", "set_open", "skip", "status", "submit",
    "training_examples", "uncertainty", "wait_for", "what_is_kept",
]
