"""The original TIM's adapters, in one place: its checkpoints (``convert``), numerical parity (``parity``), its
command lines (``from_tim_args``), its prediction dict (``original_dict``), its pickle layout of generated
data (``layout``) and its annotation pickles as a dataset plugin (``dataset``)."""
