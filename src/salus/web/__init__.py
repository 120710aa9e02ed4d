"""The web application (issue 15): pages served at ``/ui``, on the same API as the CLI.

Browser-side modules live in ``static/js`` as plain ES modules, one concept per file.
"""
