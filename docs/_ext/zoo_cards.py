"""Model card pages generated from the registry when the docs build starts.

One page per family (``model_zoo/models/<family>.rst``, not committed) with a section per registered
name, labelled ``model-<name>`` so that the dataset tables link each name to its card.  A section
holds the architecture, the input protocol, every weights version with its hash, accuracy and
licence, and how to load, test and fine-tune the model.  Pages are rewritten only when their text
changes, so an unchanged registry rebuilds nothing.
"""
from __future__ import annotations

import logging
from pathlib import Path

from zoo.registry import ModelCard, WeightsEntry, all_cards
from zoo.tables import REPO_ROOT, clip_length, model_stats, recipe_configs, recipe_of, use_line

logger = logging.getLogger(__name__)

CARDS_DIR = Path(__file__).resolve().parents[1] / "model_zoo" / "models"


def _heading(text: str, mark: str) -> str:
    return f"{text}\n{mark * len(text)}\n"


def _indent(text: str, spaces: int = 3) -> str:
    return "\n".join((" " * spaces + line) if line else "" for line in text.splitlines())


def _code(language: str, text: str) -> str:
    return f".. code-block:: {language}\n\n{_indent(text)}\n"


def _facts(rows: list[tuple[str, str]], css: str) -> str:
    """A two-column table of ``(label, reStructuredText value)`` rows."""
    body = "\n".join(f"   * - {label}\n     - {value}" for label, value in rows)
    return f".. list-table::\n   :stub-columns: 1\n   :class: zoo-card-facts {css}\n\n{body}\n"


def _rubric(text: str) -> str:
    """A heading inside a card that stays out of the page's table of contents."""
    return f".. rubric:: {text}\n"


def _short(value: object, limit: int = 32) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _protocol(card: ModelCard) -> str:
    """The input spec as a table: what one view looks like when it enters the model."""
    spec = card.input
    span = f", a {spec.clip_len * spec.frame_step}-frame span" if spec.frame_step > 1 else ""
    segments = f"; {spec.num_segments} segments per video (TSN)" if spec.num_segments > 1 else ""
    every = f"every {_nth(spec.frame_step)} frame" if spec.frame_step > 1 else "consecutive frames"
    rows = [
        ("Clip", f"{spec.clip_len} frame(s), {every}{span}{segments}"),
        ("Frames", f"short side resized to {spec.short_side} px, then a {spec.crop_size} x {spec.crop_size} crop"),
        ("Normalisation", f"``[0, 1]`` RGB, mean ``{tuple(spec.mean)}``, std ``{tuple(spec.std)}``"),
        ("Input -> output", f"``{spec.example_shape()}`` ({spec.layout}) -> logits ``(1, {card.num_classes})``"),
    ]
    if spec.temporal_centering:
        rows.append(("Temporal centering", "each pixel's mean over the clip is subtracted"))
    if spec.note:
        rows.append(("Note", spec.note))
    return _facts(rows, "zoo-card-protocol")


def _nth(step: int) -> str:
    return {1: "", 2: "2nd", 3: "3rd"}.get(step, f"{step}th")


def _weights_table(card: ModelCard) -> str:
    rows = []
    default = card.default_weights()
    for w in card.weights:
        acc = w.accuracy
        top1 = f"{acc.top1:g}" if acc and acc.top1 is not None else "-"
        if acc and acc.mean_ap is not None:
            top1 = f"mAP {acc.mean_ap:g}"
        top1 += f" ({acc.reported_by})" if acc and acc.reported_by else ""
        tag = f"``{w.tag}``" if w.tag else "none published"
        rows.append([tag + (" (default)" if w is default else ""), _digest(w), top1,
                     w.pretraining or "-", w.license or "-", w.description or "-"])
    header = ["Hashtag", "Hash", "Top-1", "Pretraining", "Licence", "Notes"]
    body = "\n".join("   * - " + "\n     - ".join(cell.replace("\n", " ") or "-" for cell in row) for row in [header, *rows])
    return f".. list-table::\n   :header-rows: 1\n   :class: zoo-card-weights zoo-stack\n\n{body}\n"


def _digest(w: WeightsEntry) -> str:
    if w.repo == "hf" and not w.sha1 and not w.sha256:  # pinned by its revision; the Hub's SHA-256 (ETag) is checked
        revision = w.url.partition("/resolve/")[2].partition("/")[0]
        return f"Hub revision ``{revision}`` (SHA-256 from the Hub)"
    if len(w.sha1) == 40:
        return f"SHA-1 ``{w.sha1}``"
    if w.sha1:
        return f"SHA-1 prefix ``{w.sha1}``"
    if w.sha256:
        return f"SHA-256 ``{w.sha256}``"
    return "none published: the first download pins its SHA-256 in ZOO_LOCK"


def _finetune(card: ModelCard, recipe: str) -> str:
    lists = "data.train_list=my/train.txt data.val_list=my/val.txt"
    if recipe:
        return (f"Our recipe is ``{recipe}`` (below); give it your lists, and the classifier takes your class count:\n\n"
                + _code("bash", f"python scripts/train_recognizer.py {recipe} {lists}")
                + f"\n.. literalinclude:: ../../../{recipe}\n   :language: yaml\n")
    spec = card.input
    protocol = (f"data.new_length={spec.clip_len} data.new_step={spec.frame_step} data.num_segments={spec.num_segments} "
                f"data.crop_size={spec.crop_size} data.short_side={spec.short_side}")
    return ("No recipe of ours fits this family yet; the card's protocol with the engine's defaults:\n\n"
            + _code("bash", f"python scripts/train_recognizer.py model.name={card.name} model.pretrained=true \\\n"
                            f"    {lists} \\\n    {protocol}"))


def card_section(card: ModelCard, stats: dict, recipes: dict) -> str:
    """The reStructuredText of one name's card (a section labelled ``model-<name>``)."""
    s = stats.get(card.name, {})
    cost = ", ".join(part for part in (f"{s['params_m']:g} M parameters" if s.get("params_m") else "",
                                       f"{s['gflops']:g} GFLOPs per view" if s.get("gflops") else "") if part)
    builder = f"{card.builder.__module__}.{card.builder.__name__}"
    kwargs = ", ".join(f"{k}={_short(v)}" for k, v in card.kwargs.items())
    facts = [("Architecture", f"``{builder}({kwargs})``"), ("Family", f":ref:`{card.family} <family-{card.family}>`"),
             ("Classes", f"{card.num_classes} ({card.dataset or 'custom'})"), ("Clip length", clip_length(card))]
    facts += [("Size", cost)] if cost else []
    facts += [("Source", card.source)] if card.source else []
    parts = [
        f".. _model-{card.name}:\n",
        _heading(card.name, "-"),
        (card.description or "") + "\n",
        _facts(facts, "zoo-card-about"),
        _rubric("Input protocol"), _protocol(card),
    ]
    if card.weights:
        parts += [_rubric("Weights"), _weights_table(card)]
        use = (f"import zoo\n\n# clips {card.input.example_shape()} -> logits (1, {card.num_classes})\n"
               f"net = {use_line(card)}.eval()\nprint(zoo.model_card(\"{card.name}\").input)  # the protocol above")
    else:
        parts += [_rubric("Weights"), "None published: the architecture only (random initialisation).\n"]
        use = f"import zoo\n\nnet = zoo.get_model(\"{card.name}\", num_classes=10)   # random init, your class count"
    parts += [_rubric("Load it"), _code("python", use)]
    if card.weights:
        parts += [_rubric("Test it"),
                  _code("bash", f"python scripts/test_recognizer.py --model {card.name} \\\n"
                                "    --list my/val.txt --num-clips 10 --num-crops 3")]
    parts += [_rubric("Fine-tune it"), _finetune(card, recipe_of(card, recipes))]
    return "\n".join(parts) + "\n"


def family_page(family: str, cards: list[ModelCard], stats: dict, recipes: dict) -> str:
    intro = (f"{len(cards)} registered name(s) of the ``{family}`` family, generated from their model cards "
             "(``zoo info NAME`` prints the same card).\n")
    names = "\n".join(f"* :ref:`model-{c.name}`" for c in cards)
    body = "\n".join(card_section(c, stats, recipes) for c in cards)
    return f".. _family-{family}:\n\n{_heading(f'{family} models', '=')}\n{intro}\n{names}\n\n{body}"


def index_page(families: dict[str, list[ModelCard]]) -> str:
    toc = "\n".join(f"   {family}" for family in families)
    return (f"{_heading('Model cards', '=')}\nEvery registered name has a card: architecture, input protocol, "
            "weights versions with their hash, accuracy and licence, and how to load, test and fine-tune it. "
            "One page per family.\n\n.. toctree::\n   :maxdepth: 1\n\n" + toc + "\n")


def write_pages(folder: Path = CARDS_DIR) -> list[Path]:
    """Write the card pages of every built-in name; returns the files that changed."""
    families: dict[str, list[ModelCard]] = {}
    for card in sorted(all_cards(), key=lambda c: c.name):
        if not card.source.startswith("manifest"):
            families.setdefault(card.family, []).append(card)
    families = dict(sorted(families.items()))
    stats, recipes = model_stats(), recipe_configs(REPO_ROOT / "configs")
    pages = {"index.rst": index_page(families)}
    pages.update({f"{family}.rst": family_page(family, cards, stats, recipes) for family, cards in families.items()})
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for file, text in pages.items():
        path = folder / file
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for stale in set(folder.glob("*.rst")) - {folder / f for f in pages}:
        stale.unlink()
    return changed


def setup(app) -> dict:
    app.connect("builder-inited", lambda app: write_pages())
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
