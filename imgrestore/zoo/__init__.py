"""The model zoo: which weights exist, where they come from, and loading them safely.

One module per question:

- :mod:`.cards` — the table of model cards (task, network, licence, sources);
- :mod:`.cache` — where weights are kept, offline mode, all-or-nothing writes;
- :mod:`.fetch` — hash-checked downloads;
- :mod:`.checkpoints` — safe reading, containers, family detection, fit checks;
- :mod:`.modeldir` — the imgrestore model folder format (``model.safetensors`` +
  ``imgrestore.json``);
- :mod:`.hub` — ``hf:owner/repo[@revision]`` models (fetching, uploading);
- :mod:`.install` — a card's weights into the cache (downloaded or imported, checked);
- :mod:`.loading` — :func:`load_model`, from a reference to a ready network;
- :mod:`.publish` — a model folder checked and pushed to the Hub.

Importing this package does not import torch.
"""

from imgrestore.zoo.cards import CARDS, TASKS, Card, Source, card, default_card
from imgrestore.zoo.install import import_file
from imgrestore.zoo.loading import LoadedModel, load_model

__all__ = [
    "CARDS",
    "TASKS",
    "Card",
    "LoadedModel",
    "Source",
    "card",
    "default_card",
    "import_file",
    "load_model",
]
