"""The FAIR names (PySlowFast and pytorchvideo checkpoints): cards, URLs, pins for hash-less files, and
coverage: every classification checkpoint either code base publishes has a name (read from pytorchvideo's
installed hub modules and from PySlowFast's MODEL_ZOO.md and project READMEs; the ones left out say why)."""
from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
import torch

import zoo
from zoo import hub
from zoo.registry import all_cards

FAIR_REPOS = {"pyslowfast": "https://dl.fbaipublicfiles.com/pyslowfast/",
              "pytorchvideo": "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/",
              "pyslowfast_ptv": "https://dl.fbaipublicfiles.com/pytorchvideo/pysf_model_zoo/"}
FAIR_HOST = "https://dl.fbaipublicfiles.com/"


def _fair_cards():
    return [c for c in all_cards() if any(w.repo in FAIR_REPOS for w in c.weights)]


def test_fair_cards_say_where_their_weights_come_from():
    cards = _fair_cards()
    assert len(cards) >= 8
    for card in cards:
        entry = card.default_weights()
        assert entry.repo in FAIR_REPOS, card.name
        url = hub.resolve_url(entry.url, entry.repo, entry.file)
        assert url.startswith(FAIR_REPOS[entry.repo]) and url.endswith((".pyth", ".pkl")), (card.name, url)
        assert entry.sha1 == entry.sha256 == "" and entry.tag == "", f"{card.name}: no hash is published"
        assert entry.license.startswith("Apache-2.0"), card.name
        assert entry.accuracy is not None and entry.accuracy.protocol, f"{card.name}: accuracy with its protocol"
        assert (entry.accuracy.top1 or entry.accuracy.mean_ap) > 0, card.name
        assert entry.converter and entry.converter in card.converters.values(), card.name
        assert hub.pins.model_of_file(entry.file) == card.name
        assert card.input.clip_len > 0 and card.input.frame_step > 0 and card.input.mean and card.input.std
        assert card.source and card.dataset


def test_hashless_entry_downloads_once_and_pins_its_sha256(tmp_path, monkeypatch):
    """No published hash: the first download records the file's SHA-256 in ZOO_LOCK; a changed file is refused."""
    name = "x3d_xs_kinetics400"
    entry = zoo.model_card(name).default_weights()
    mirror = tmp_path / "mirror"
    (mirror / entry.url).parent.mkdir(parents=True)
    state = zoo.get_model(name).state_dict()
    pysf = _pyslowfast_layout(state)
    torch.save({"model_state": pysf, "epoch": 1}, mirror / entry.url)
    lock = tmp_path / "zoo.lock"
    monkeypatch.setenv("ZOO_REPO_URL_PYSLOWFAST", mirror.as_uri())
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    model = zoo.get_model(name, pretrained=True)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    pins = json.loads(lock.read_text())["files"]
    assert pins[entry.file]["sha256"] == hub.sha256sum(mirror / entry.url)
    assert pins[entry.file]["model"] == name
    # another machine sharing the pin file gets other bytes at the URL: refused
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "other_home"))
    pysf["head.projection.bias"] = pysf["head.projection.bias"] + 1
    torch.save({"model_state": pysf, "epoch": 2}, mirror / entry.url)
    with pytest.raises(hub.ChecksumError, match="differs from the pin"):
        zoo.get_model(name, pretrained=True)


def _pyslowfast_layout(state: dict) -> dict:
    """Our X3D state dict in PySlowFast's key layout (the inverse of the family's rule table)."""
    import re

    blocks = {"downsample.conv": "branch1", "downsample.bn": "branch1_bn", "conv1.conv": "branch2.a",
              "conv1.bn": "branch2.a_bn", "conv2": "branch2.b", "bn2": "branch2.b_bn", "se.fc1": "branch2.se.fc1",
              "se.fc2": "branch2.se.fc2", "conv3.conv": "branch2.c", "conv3.bn": "branch2.c_bn"}
    fixed = {"stem.0": "s1.pathway0_stem.conv_xy", "stem.1": "s1.pathway0_stem.conv", "stem.2": "s1.pathway0_stem.bn",
             "conv5.conv": "head.conv_5", "conv5.bn": "head.conv_5_bn", "fc1": "head.lin_5", "fc": "head.projection"}
    out = {}
    for key, value in state.items():
        module, _, tensor = key.rpartition(".")
        m = re.fullmatch(r"stages\.(\d)\.(\d+)\.(.+)", module)
        if m:
            out[f"s{int(m[1]) + 2}.pathway0_res{m[2]}.{blocks[m[3]]}.{tensor}"] = value
        elif module == "fc1":
            out[f"head.lin_5.{tensor}"] = value[:, :, None, None, None]
        else:
            out[f"{fixed[module]}.{tensor}"] = value
    return out


# ---------------------------------------------------------------------------------------------
# coverage: every published classification checkpoint has a name
# ---------------------------------------------------------------------------------------------

#: published files (relative to FAIR_HOST; a folder ending in "/" covers its files) that have no name, and why
LEFT_OUT = {
    "pytorchvideo/model_zoo/ava/": "AVA detection checkpoints (zoo covers classification)",
    "pytorchvideo/model_zoo/imagenet/MVIT_B_16_f292487636.pyth": "ImageNet-1k image classifier (MViT-B-16), not a video model",
    "pyslowfast/model_zoo/ava/": "AVA detection checkpoints (zoo covers classification)",
    "pyslowfast/masked_models/": "self-supervised pre-training (MAE, MaskFeat): no classifier",
    "pyslowfast/videomoco_models/": "self-supervised pre-training (MoCo, BYOL, SimCLR, SwAV): no classifier",
    "pyslowfast/model_zoo/kinetics400/R50_IN1K.pyth": "ImageNet-1k ResNet-50 that initialises training, not a video model",
    "mvit/mvitv2_models/MViTv2_T_in1k.pyth": "ImageNet-1k image classifier (MViTv2-T)",
    "mvit/mvitv2_models/MViTv2_S_in1k.pyth": "ImageNet-1k image classifier (MViTv2-S)",
    "mvit/mvitv2_models/MViTv2_B_in1k.pyth": "ImageNet-1k image classifier (MViTv2-B)",
    "pyslowfast/rev/REV_VIT_S.pyth": "ImageNet-1k image classifier (Rev-ViT-S)",
    "pyslowfast/rev/REV_VIT_B.pyth": "ImageNet-1k image classifier (Rev-ViT-B)",
    "pyslowfast/rev/REV_MVIT_B.pyth": "ImageNet-1k image classifier (Rev-MViT-B)",
}
#: Google Drive files PySlowFast links instead of a dl.fbaipublicfiles.com URL (no stable URL to fetch), and why
LEFT_OUT_DRIVE = {
    "194gJinVejq6A1FmySNKQ8vAN5-FOY-QL": "MViTv1-B 16x4 Kinetics-400 (MODEL_ZOO.md): published on Google Drive only",
    "1dYYqUB-3DSgBVc9d6o-rW8ojtVsrFLgp": "MViTv1-B-16 ImageNet-1k image classifier, on Google Drive only",
}


def _registered_urls() -> set[str]:
    return {hub.resolve_url(w.url, w.repo, w.file) for card in all_cards() for w in card.weights}


def _left_out(url: str) -> str | None:
    path = url.removeprefix(FAIR_HOST)
    return next((why for key, why in LEFT_OUT.items() if path == key or (key.endswith("/") and path.startswith(key))), None)


def _unnamed(urls: set[str]) -> list[str]:
    registered = _registered_urls()
    return sorted(u for u in urls if u not in registered and _left_out(u) is None)


def _evaluate(node: ast.AST, env: dict[str, str]) -> str | None:
    """The string ``node`` builds from literals and the module's string constants (f-strings, ``str.format``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [_evaluate(v.value if isinstance(v, ast.FormattedValue) else v, env) for v in node.values]
        return None if None in parts else "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        template, args = _evaluate(node.func.value, env), [_evaluate(a, env) for a in node.args]
        return None if template is None or None in args else template.format(*args)
    return None


def _string_constants(tree: ast.Module, env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _evaluate(node.value, env)
            if value is not None:
                env[node.targets[0].id] = value
    return env


def pytorchvideo_hub_checkpoints(hub_dir: Path) -> set[str]:
    """Every ``.pyth`` URL that pytorchvideo's hub modules name, their root-dir constants substituted."""
    shared = _string_constants(ast.parse((hub_dir / "utils.py").read_text()), {})
    urls = set()
    for path in sorted(hub_dir.glob("*.py")):
        tree = ast.parse(path.read_text())
        env = _string_constants(tree, shared)
        for node in ast.walk(tree):
            value = _evaluate(node, env)
            if value and value.startswith("https://") and value.endswith(".pyth"):
                urls.add(value)
    return urls


def test_every_pytorchvideo_hub_checkpoint_has_a_name():
    """pytorchvideo's installed hub modules (the reference venv's): every classification file is registered."""
    from pytorchvideo_ref.harness import require_ptv_python

    python = require_ptv_python()
    where = subprocess.run([str(python), "-c", "import importlib.util as u; "
                            "print(u.find_spec('pytorchvideo').submodule_search_locations[0])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    urls = pytorchvideo_hub_checkpoints(Path(where) / "models" / "hub")
    assert len(urls) >= 15, f"found only {sorted(urls)} in {where}/models/hub"
    assert not _unnamed(urls), f"pytorchvideo hub checkpoints without a zoo name: {_unnamed(urls)}"
    assert any(_left_out(u) for u in urls), "the left-out list names nothing pytorchvideo publishes"


def pyslowfast_published(src: Path) -> tuple[set[str], set[str]]:
    """``(dl.fbaipublicfiles.com URLs, Google Drive file ids)`` of PySlowFast's MODEL_ZOO.md and projects/*/README.md."""
    text = "\n".join(p.read_text() for p in [src / "MODEL_ZOO.md", *sorted(src.glob("projects/*/README.md"))])
    text = text.replace("\\_", "_")  # Markdown-escaped underscores in a link
    urls = set(re.findall(r"https?://dl\.fbaipublicfiles\.com/[^)\s`'\"]+", text))
    drive = set(re.findall(r"drive\.google\.com/file/d/([\w-]+)", text))
    return {u.replace("http://", "https://") for u in urls}, drive


def test_every_pyslowfast_checkpoint_has_a_name():
    """PySlowFast's MODEL_ZOO.md and project READMEs: every file is registered or left out with a reason."""
    from pytorchvideo_ref.harness import require_pyslowfast_src

    urls, drive = pyslowfast_published(require_pyslowfast_src())
    assert len(urls) >= 60, f"found only {len(urls)} URLs"
    assert not _unnamed(urls), f"PySlowFast checkpoints without a zoo name: {_unnamed(urls)}"
    assert drive == set(LEFT_OUT_DRIVE), f"Google Drive links changed: {sorted(drive ^ set(LEFT_OUT_DRIVE))}"
    paths = [u.removeprefix(FAIR_HOST) for u in urls]
    stale = [key for key in LEFT_OUT if key.startswith(("pyslowfast/", "mvit/"))
             and not any(path.startswith(key) for path in paths)]
    assert not stale, f"left out but no longer published: {stale}"
    ptv_project = {u for u in urls if "/pysf_model_zoo/" in u}
    assert len(ptv_project) == 16 and ptv_project <= _registered_urls()


def test_coverage_helpers_read_hub_modules_and_readmes(tmp_path):
    """The readers themselves, on a small hub module and README written here (runs without either code base)."""
    (tmp_path / "utils.py").write_text('ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo"\n')
    (tmp_path / "x3d.py").write_text('from .utils import ROOT\nroot_dir = f"{ROOT}/kinetics"\n'
                                     'paths = {"a": f"{root_dir}/X3D_XS.pyth", "b": "{}/ava/D.pyth".format(ROOT),\n'
                                     '         "c": "{}/kinetics/NEW.pyth".format(\n    ROOT\n)}\n')
    urls = pytorchvideo_hub_checkpoints(tmp_path)
    base = FAIR_REPOS["pytorchvideo"]
    assert urls == {base + "kinetics/X3D_XS.pyth", base + "ava/D.pyth", base + "kinetics/NEW.pyth"}
    assert _unnamed(urls) == [base + "kinetics/NEW.pyth"]  # registered, left out (detection), unknown
    (tmp_path / "MODEL_ZOO.md").write_text(
        "| [`link`](https://dl.fbaipublicfiles.com/pytorchvideo/pysf_model_zoo/kinetics/SLOWFAST\\_16x8\\_R101_50_50.pyth) |\n"
        "| [`link`](https://drive.google.com/file/d/abc-DEF_1/view?usp=sharing) |\n")
    urls, drive = pyslowfast_published(tmp_path)
    assert urls == {FAIR_REPOS["pyslowfast_ptv"] + "kinetics/SLOWFAST_16x8_R101_50_50.pyth"} and drive == {"abc-DEF_1"}
    assert not _unnamed(urls)
