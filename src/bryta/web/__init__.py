"""The web app: the barometer in a browser and a JSON API, server-rendered, fully offline.

:func:`bryta.web.app.create_app` builds the app from a :class:`~bryta.app.context.Settings`;
``bryta serve`` runs it with uvicorn. Routes are thin: they call the use cases of
:mod:`bryta.app` and render their results as HTML (Jinja2) or JSON. Nothing here imports the
command line; of the command line only ``bryta serve`` imports the app factory, to run it.
"""
