"""overworld studio: compose, listen, regenerate bars and download in the browser.

:class:`~overworld.studio.session.Studio` does the work with the library's own functions (no web in it);
:func:`~overworld.studio.app.create_app` serves it (FastAPI, from ``pip install overworld[studio]``).
Nothing is imported here, so the package loads without the extra.
"""

from __future__ import annotations

__all__: list[str] = []
