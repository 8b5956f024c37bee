"""The engine's own registered components (model, metrics, writers), loaded as the 'core' plugin."""
from .evaluation import ave_metrics  # noqa: F401  (registers METRICS entries)
from .evaluation import epic_metrics  # noqa: F401  (registers METRICS entries)
from .evaluation import perception_metrics  # noqa: F401  (registers METRICS entries)
from .model import tim  # noqa: F401  (registers MODELS entries)
from .submission import epic  # noqa: F401  (registers WRITERS entries)
