"""The use cases the command line and the web app share: no typer, rich or web framework here.

Use cases take a :class:`~bryta.app.context.Context` (settings and the factories of the
warehouse, the registry and the HTTP clients) and return data, never print.
"""
