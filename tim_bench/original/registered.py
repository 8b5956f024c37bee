"""The original TIM's ``--dataset`` names the installed benchmark plugins register (``ORIGINAL_DATASETS``), for
``from-tim-args`` and ``make-synthetic --layout original``."""
from __future__ import annotations

from tim_bench_registry import ORIGINAL_DATASETS, UnknownPluginError, plugin_manager
from tim_bench_registry.original import OriginalDataset


def original_datasets() -> dict[str, OriginalDataset]:
    """Every registered original ``--dataset``, by name (plugins loaded first)."""
    plugin_manager()
    return dict(ORIGINAL_DATASETS.module_dict)


def original_dataset(name: str) -> OriginalDataset:
    """The registered original ``--dataset`` ``name``; an unknown one names the registered ones."""
    known = original_datasets()
    if name not in known:
        raise UnknownPluginError(f"No plugin registers the original TIM's --dataset {name!r}; registered: "
                                 f"{', '.join(sorted(known)) or 'none'}.")
    return known[name]


def original_of_generator(generator: str) -> OriginalDataset:
    """The original ``--dataset`` whose layout ``make-synthetic GENERATOR --layout original`` writes."""
    known = original_datasets()
    for entry in known.values():
        if entry.generator == generator:
            return entry
    raise UnknownPluginError(f"--layout original has no original TIM layout for generator {generator!r}; it "
                             f"converts {', '.join(sorted(e.generator for e in known.values())) or 'none'}.")
