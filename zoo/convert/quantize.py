"""int8 models: post-training static quantization of an fp32 model (PyTorch FX graph mode, CPU).

GluonCV ships five ``*_int8`` action-recognition names (``vgg16_ucf101_int8``,
``inceptionv3_ucf101_int8``, ``resnet18_v1b_kinetics400_int8``, ``resnet50_v1b_kinetics400_int8``,
``inceptionv3_kinetics400_int8``): its fp32 weights run through an MXNet graph that Intel's
calibration tool quantised.  zoo makes the same kind of model from the fp32 twin with
:func:`quantize_int8`: convolutions and linear layers (BatchNorm and ReLU fused in) run as int8
kernels of the ``x86`` backend (fbgemm/oneDNN), activations are quantised with ranges observed on
calibration clips.  Calibrate with a few real clips of the target data, preprocessed like the model's
input; the ranges come from them.

Models whose ``forward`` branches on tensor shapes (the TSN fold of ``T`` into the batch, stems
that pick a path by input size) cannot be traced as a whole; then every largest traceable submodule
that holds a convolution or linear layer is quantised on its own (float in, float out), and what
cannot be traced stays fp32.  ``model.zoo_int8`` lists which submodules are int8.

This is the mechanism of the fast path's int8 for every model,
``zoo.optimize_for_inference(model, precision="int8", calibration=clips)``, which also compares the
result with fp32 and falls back to fp32 (saying why) when int8 does not apply.
"""
from __future__ import annotations

import copy
import logging
import warnings
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.nn as nn

from ..registry import model_card

__all__ = ["Int8Error", "quantize_int8", "int8_builder", "int8_twin"]

logger = logging.getLogger(__name__)

_QUANTIZABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


class Int8Error(RuntimeError):
    """A model that cannot be quantised to int8 here (backend missing, nothing traceable, no data)."""


def int8_twin(name: str) -> str:
    """The fp32 name of an ``*_int8`` name (``resnet18_v1b_kinetics400_int8`` -> ``resnet18_v1b_kinetics400``)."""
    return name[: -len("_int8")] if name.endswith("_int8") else name


def _has_quantizable(module: nn.Module) -> bool:
    return any(isinstance(m, _QUANTIZABLE) for m in module.modules())


def _capture_inputs(model: nn.Module, example: torch.Tensor) -> dict[nn.Module, tuple]:
    """Positional inputs of every submodule on ``example`` (first call of each)."""
    seen: dict[nn.Module, tuple] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args: seen.setdefault(mod, args) and None)
             for m in model.modules()]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in hooks:
            h.remove()
    return seen


def _own_methods(module: nn.Module) -> list[str]:
    """Public methods that ``module``'s classes add besides ``forward`` (others may call them)."""
    own = set()
    for cls in type(module).__mro__:
        if cls in (nn.Module, object) or not issubclass(cls, nn.Module) or cls.__module__.startswith("torch."):
            continue
        own |= {k for k, v in vars(cls).items() if callable(v) and not k.startswith("_") and k != "forward"}
    return sorted(own)


def _prepare_parts(module: nn.Module, path: str, inputs: dict[nn.Module, tuple], qconfig_mapping: Any,
                  prepared: list[tuple[nn.Module, str, str]]) -> None:
    """Replace, inside ``module``, the largest traceable children holding conv/linear layers by observed graphs."""
    from torch.ao.quantization.quantize_fx import prepare_fx

    for name, child in list(module.named_children()):
        child_path = f"{path}.{name}" if path else name
        if not _has_quantizable(child):
            continue
        if child not in inputs:  # a container the forward never calls (ModuleList, ModuleDict): its members
            _prepare_parts(child, child_path, inputs, qconfig_mapping, prepared)
            continue
        if _own_methods(child):  # a graph keeps only forward: a head whose .pool() the model calls stays a module
            _prepare_parts(child, child_path, inputs, qconfig_mapping, prepared)
            continue
        try:
            graph = prepare_fx(child, qconfig_mapping, example_inputs=inputs[child])
        except Exception as err:  # not traceable as a whole: try its children
            logger.debug("int8: %s is not traceable (%s: %s); trying its children", child_path, type(err).__name__, err)
            _prepare_parts(child, child_path, inputs, qconfig_mapping, prepared)
            continue
        setattr(module, name, graph)
        prepared.append((module, name, child_path))


def quantize_int8(model: nn.Module, calibration_inputs: Iterable[torch.Tensor], *, backend: str = "x86") -> nn.Module:
    """Post-training static int8 quantisation of ``model`` (a copy; ``model`` is left as it is).

    Args:
        model: an fp32 model in eval mode semantics (it is copied and put in eval mode).
        calibration_inputs: input batches, e.g. ``(N, 3, T, H, W)`` clips, preprocessed like the
            model's input; activation ranges are observed on them (a few batches of real data).
        backend: quantised kernel backend, ``"x86"`` (default; fbgemm + oneDNN) or ``"qnnpack"``.

    Returns:
        The int8 model (CPU only).  ``model.zoo_int8`` is a dict: ``backend``, ``quantized`` (the
        int8 submodules, ``"<model>"`` for all of it) and ``float_layers`` (conv/linear layers left fp32).

    Raises:
        Int8Error: the backend is not available, no calibration input was given, or no part of
            the model could be quantised; the message names what to use instead.
    """
    batches = list(calibration_inputs)
    if not batches:
        raise Int8Error("quantize_int8 needs at least one calibration batch (a few real clips of the target data)")
    if backend not in torch.backends.quantized.supported_engines:
        raise Int8Error(f"quantised backend {backend!r} is not available in this PyTorch build "
                        f"(available: {', '.join(torch.backends.quantized.supported_engines)}); use the fp32 model")
    if not _has_quantizable(model):
        raise Int8Error(f"{type(model).__name__} has no convolution or linear layer to quantise; use the fp32 model")
    torch.backends.quantized.engine = backend
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; it is what this PyTorch provides for CPU int8
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\..*")
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
        if _is_transformer(model):
            quantized = _quantize_linear_layers(model, backend)
        else:
            quantized = _quantize(model, batches, backend)
    quantized.register_forward_pre_hook(_float32_inputs)
    return quantized


def _float32_inputs(module: nn.Module, args: tuple) -> tuple:
    """Int8 kernels quantise float32: a bf16/fp16 input is cast to float32 first instead of failing inside
    the first quantise step.  Float layers left around the int8 ones must stay float32 too."""
    if any(t.is_floating_point() and t.dtype != torch.float32 for t in (*module.parameters(), *module.buffers())):
        raise TypeError(f"{type(module).__name__} is an int8 model whose float layers were cast to another dtype; "
                        "an int8 model runs float32 around its int8 kernels: build it again and do not call "
                        ".to(torch.bfloat16) on it (a bf16 input alone is fine)")
    return tuple(a.float() if isinstance(a, torch.Tensor) and a.dtype in (torch.bfloat16, torch.float16) else a
                 for a in args)


def _is_transformer(model: nn.Module) -> bool:
    """A model normalised by LayerNorm: a video transformer, whose work is in its linear layers."""
    return any(isinstance(m, nn.LayerNorm) for m in model.modules())


def _quantize_linear_layers(model: nn.Module, backend: str) -> nn.Module:
    """Dynamic int8 for a transformer's linear layers: int8 weights, each input quantised with its own
    range at run time.  One static range per layer fits attention outputs and GELU activations badly
    (their outliers move from clip to clip): with static ranges from four clips, ViViT-B's logits moved
    by 65 % of the largest and its top-1 agreed on 3 clips of 12.  Convolutions (a patch embedding) stay fp32."""
    from torch.ao.quantization import quantize_dynamic

    quantized = quantize_dynamic(copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8)
    float_layers = [n for n, m in quantized.named_modules() if isinstance(m, _QUANTIZABLE)]
    quantized.zoo_int8 = {"backend": backend, "quantized": ["<linear layers, dynamic>"],  # type: ignore[attr-defined]
                          "float_layers": float_layers}
    logger.info("int8 (%s, dynamic): linear layers quantised; fp32 conv/linear layers left: %d", backend, len(float_layers))
    return quantized


def _use_exact_bases(model: nn.Module) -> int:
    """Swap, in place, every module whose class names an exact equivalent (``zoo_exact_base``, e.g. a
    ``Conv3d`` that only reorders its work around a kernel bug) for that class, sharing the parameters:
    graph tracing sees a layer it can quantise instead of the subclass's branching forward."""
    swapped = 0
    for name, module in list(model.named_modules()):
        base = getattr(type(module), "zoo_exact_base", None)
        if base is None or type(module) is base:
            continue
        plain = copy.copy(module)
        plain.__class__ = base
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, plain)
        swapped += 1
    return swapped


def mean_through_float(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """``x.mean(...)``; a quantised ``x`` is averaged in float and quantised back with its own scale.

    torch 2.13's quantised ``mean`` fails on a pooled map of one position, ``(N, C, 1, 1, 1)`` ("required rank
    5 tensor to use channels_last_3d format"), which is how S3D and LRCN end; the average of values within
    the input's range stays within it, so the input's scale and zero point fit the result.
    """
    if not x.is_quantized:
        return x.mean(*args, **kwargs)
    return torch.quantize_per_tensor(x.dequantize().mean(*args, **kwargs), x.q_scale(), x.q_zero_point(), x.dtype)


def _means_through_float(graph_module: nn.Module) -> nn.Module:
    """Every ``.mean(...)`` of a converted graph goes through :func:`mean_through_float` (in place)."""
    graph = graph_module.graph  # type: ignore[union-attr]
    changed = False
    for node in graph.nodes:
        if node.op == "call_method" and node.target == "mean":
            node.op, node.target, changed = "call_function", mean_through_float, True
    if changed:
        graph.lint()
        graph_module.recompile()  # type: ignore[operator]
    return graph_module


def _quantize(model: nn.Module, batches: list[torch.Tensor], backend: str) -> nn.Module:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    work = copy.deepcopy(model).cpu().eval()
    _use_exact_bases(work)
    inputs = _capture_inputs(work, batches[0])
    qconfig_mapping = get_default_qconfig_mapping(backend)
    try:
        whole: nn.Module | None = prepare_fx(work, qconfig_mapping, example_inputs=inputs[work])
    except Exception as err:
        logger.debug("int8: %s is not traceable as a whole (%s); quantising its parts", type(model).__name__, err)
        whole = None
    prepared: list[tuple[nn.Module, str, str]] = []
    if whole is None:
        _prepare_parts(work, "", inputs, qconfig_mapping, prepared)
        if not prepared:
            raise Int8Error(
                f"no part of {type(model).__name__} holding a convolution or linear layer could be traced for "
                "int8 quantisation; use the fp32 model"
            )
    observed = whole if whole is not None else work
    with torch.no_grad():
        for x in batches:
            observed(x)
    if whole is not None:
        quantized: nn.Module = _means_through_float(convert_fx(whole))
        names = ["<model>"]
    else:
        for parent, attr, _ in prepared:
            setattr(parent, attr, _means_through_float(convert_fx(getattr(parent, attr))))
        quantized, names = work, [p for _, _, p in prepared]
    float_layers = [n for n, m in quantized.named_modules() if isinstance(m, _QUANTIZABLE)]
    quantized.zoo_int8 = {"backend": backend, "quantized": names, "float_layers": float_layers}  # type: ignore[attr-defined]
    logger.info("int8 (%s): quantised %s; fp32 conv/linear layers left: %d", backend, ", ".join(names), len(float_layers))
    return quantized


def _stand_in_clips(fp32_name: str, batches: int = 2) -> list[torch.Tensor]:
    """Smooth random clips ``(1, C, T, H, W)`` of the twin's card input: activation ranges, not data."""
    shape = model_card(fp32_name).input.example_shape(1)
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=gen).cumsum(-1).cumsum(-2) / shape[-1] for _ in range(batches)]


def int8_builder(fp32_name: str) -> Callable[..., nn.Module]:
    """A registry builder for ``<fp32_name>_int8``.

    ``get_model("<fp32_name>_int8", calibration=[clips, ...])`` quantises a randomly initialised twin;
    without ``calibration`` it calibrates on smooth stand-in clips of the card's input shape and logs
    a warning that says how to get the pretrained int8 model (:func:`get_int8_model`).  The published GluonCV int8 files are MXNet symbol graphs that
    reuse the fp32 weights, so the fp32 twin's weights are what zoo loads.
    """

    def build(num_classes: int, calibration: Sequence[torch.Tensor] | None = None, **kwargs: Any) -> nn.Module:
        if calibration is None:
            calibration = _stand_in_clips(fp32_name)
            logger.warning(
                "%s_int8: calibrated on stand-in clips (no calibration= given); for real use quantise with clips of "
                "your data: zoo.weights.get_int8_model(%r, clips) (pretrained fp32 weights), or use the fp32 "
                "model %r", fp32_name, fp32_name, fp32_name,
            )
        card = model_card(fp32_name)
        model = card.builder(num_classes=num_classes, **{**card.kwargs, **kwargs}).eval()
        return quantize_int8(model, calibration)

    build.__name__ = f"build_{fp32_name}_int8"
    build.__doc__ = f"int8 twin of {fp32_name} (see zoo.convert.quantize.int8_builder)."
    return build
