"""Stage 6, the web page: ``sasnn serve`` on a local port. Drop files, see the ranked
models, fit the shortlist, invert to p(r), download the report.

:mod:`sasnn.web.app` holds the routes, :mod:`sasnn.web.uploads` the size-capped upload
reader, :mod:`sasnn.web.analyses` what the page shows of an analysis (reusing
:mod:`sasnn.identify`, :mod:`sasnn.pr` and :mod:`sasnn.plots`), and :mod:`sasnn.web.jobs`
the bounded pool of fit processes. The page itself is static HTML/JS in ``static/``
(uPlot vendored, no build step, nothing fetched at run time).

May import every stage below it; only :mod:`sasnn.cli` imports it.
"""
