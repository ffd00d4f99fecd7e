"""The app layer: handlers as plain functions over one Backend, views as plain dataclasses; app.py lays out.

    backend.py    Backend: config, the held model (model/holder.py), the store, idempotent-save bookkeeping
    config.py     AppConfig from environment variables and flags
    auth.py       who is an admin (token or HF login)
    zerogpu.py    the spaces.GPU wrapping of the model call on ZeroGPU Spaces
    views.py      what handlers return: View dataclasses, Update (component properties), KEEP
    render.py     result and store numbers -> markdown / labels / highlights (all free text escaped)
    analyze.py    on_analyze (the /analyze API), on_show (the result area and a fresh form)
    judge.py      save (the /save_judgement API and the form), on_save, on_verdict
    review.py     on_unlock, on_review, on_export, on_backup
    model_tab.py  on_model_tab, on_admin (the checkpoint switcher), on_switch
    examples.py   example clips and their labels
    edge.py       the only gradio code: event() wires a handler to components; errors become gr.Error
    serve.py      flags -> config -> backend -> demo.launch (python app.py, emoexplain app)
    style.py      CSS and the keyboard-shortcut script

A handler is ``on_x(backend, *, name=value, ...) -> SomeView`` (or without the backend when it only
reshapes values). It raises an EmoExplainError for anything the user can fix; it never imports gradio.

Adding a feature (say a campaign queue): write emoexplain/app/campaign.py with its handlers and views, test them
without gradio (tests/test_app_campaign.py), then add one layout function to app.py that creates the components
and wires them, e.g.

    def campaign_page(gr, backend, admin):
        queue = gr.Dataframe(label="Queue", interactive=False)
        next_btn = gr.Button("Next clip")
        next_btn.click(**event(campaign.on_next, backend, inputs={"unlocked": admin}, outputs={"queue": queue}),
                       api_visibility="private")

and call it from build_demo inside ``with gr.Tab("Campaign"):``. Other tabs' state (``admin``) is passed in;
react to it with ``admin.change(**event(...))`` rather than reaching into another tab's components.
"""
