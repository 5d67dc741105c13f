"""The REST API's routers, one module per resource, each guarded (:func:`vacant.api.deps.guard`).

A module's ``router`` takes JSON bodies up to ``ApiSettings.max_body``; its ``uploads`` router,
where it has one, takes files (audio up to ``max_upload``, CSV and configuration documents up to
``max_import``): :func:`vacant.api.app.create_app` sets the limits when it includes them.
"""
