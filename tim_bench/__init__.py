"""tim-bench: train, evaluate and compare TIM (Time Interval Machine) on AV action recognition."""
__version__ = "0.1.0"
