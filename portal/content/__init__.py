"""Content: markdown pages with typed front matter, served as web pages and as a JSON API.

`model` types the front matter, `render` turns markdown into safe HTML, `loader` reads the
folder into an immutable `Site` snapshot, `service` answers questions about a snapshot at a
given moment, `views` and `api` serve it, `check` validates it for CI.
"""
