"""File templates that `tim-bench new-plugin` fills in (``dataset/``: an installable dataset-plugin package)."""
