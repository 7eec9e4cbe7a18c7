"""The fast path for serving: BatchNorm folded into convolutions, channels-last, oneDNN convolutions,
bf16 (recurrent layers, and modules whose kernels have no bf16 version, kept in fp32), inference mode.

``optimize_for_inference(model)`` returns a new module; the original is left untouched.  Each step is
checked against the eager model on a probe input: a step that would change the output beyond
``1e-4 * max(1, max|logits|)`` is not applied, and the reason is logged (and kept in
``served.zoo_skipped``).

Precisions: ``"fp32"``, ``"bf16"``, ``"int8"`` (static post-training quantisation calibrated on clips the
caller gives, :mod:`zoo.convert.quantize`; the x86 backend runs VNNI/AMX int8 kernels where the CPU has
them) and ``"auto"`` (bf16 where the CPU has bf16 instructions and the bf16 model agrees with fp32 on
the probe, else fp32).  ``served.precision`` says which one runs and ``served.zoo_agreement`` how
close a reduced precision came to fp32.
"""
from __future__ import annotations

import contextlib
import copy
import ctypes
import logging
import platform
from typing import Iterable, Sequence

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

__all__ = ["optimize_for_inference", "fold_batchnorm", "InferenceModel", "PRECISIONS", "cpu_has_bf16",
           "agreement", "serve_on", "describe_precision", "hold_freed_memory"]

logger = logging.getLogger(__name__)

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
PRECISIONS = ("auto", "fp32", "bf16", "int8")
# "auto" keeps bf16 only when its logits stay within this fraction of fp32's largest |logit|
# (bf16 keeps 8 significant bits; a network usually lands within 1-3 %).
AUTO_BF16_TOLERANCE = 0.05
_BNS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class InferenceModel(nn.Module):
    """Wraps a prepared model: casts and lays out the input, runs in inference mode.

    ``forward(x)``: ``x`` is ``(N, C, T, H, W)`` (or ``(N, C, H, W)``) float32, or a tuple of such
    tensors for multi-input models (two-stream: RGB and flow); returns float32 logits.
    """

    def __init__(self, model: nn.Module, dtype: torch.dtype, channels_last: bool) -> None:
        super().__init__()
        self.model = model
        self.dtype = dtype
        self.channels_last = channels_last
        self.zoo_skipped: list[str] = []
        self.zoo_agreement: dict[str, float] = {}
        self.precision = "fp32" if dtype == torch.float32 else "bf16"
        self.zoo_folded = 0
        self.zoo_onednn = 0
        self.compiled = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), self._compile_options():
            out = self.model(self._prepare(x))
            return out.float() if isinstance(out, torch.Tensor) else out

    def _compile_options(self):
        if not self.compiled:
            return contextlib.nullcontext()
        # Inductor compiles on the first call (and on new shapes). Freezing treats the weights as
        # constants, pre-packs them for oneDNN and fuses convolutions with their ReLU / residual add
        # (I3D-R50 on 2 CPU cores: 340 ms frozen vs 407 ms not).  Passing it in torch.compile's options
        # did not take effect here, so the config is patched around the call.
        import torch._inductor.config as inductor_config

        return inductor_config.patch(freezing=True)

    def _prepare(self, x):
        return _map_tensors(self._prepare_tensor, x)

    def _prepare_tensor(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        if self.channels_last and x.dim() == 5:
            return x.contiguous(memory_format=torch.channels_last_3d)
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x


def _adjacent_pairs(model: nn.Module, probe: torch.Tensor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(conv, bn)`` names where a BatchNorm's input is exactly a convolution's output, and ``(bn, conv)``
    names where an unpadded, ungrouped convolution's input is exactly a BatchNorm's output (pre-norm blocks).

    Found by running ``probe`` once with hooks, so it works for any forward (no tracing).  An output
    that also feeds another module is not paired.
    """
    names = {m: n for n, m in model.named_modules()}
    produced: dict[int, str] = {}
    consumers: dict[int, list[str]] = {}
    keep_alive: list[torch.Tensor] = []

    def after(module, inputs, output):
        produced[id(output)] = names[module]
        keep_alive.append(output)  # its id stays unique while it is alive

    def before_any(module, inputs):
        # only conv/BN outputs are kept alive (a transformer's every activation would not fit in memory at
        # full size), so only their ids are certain to name one tensor
        if inputs and isinstance(inputs[0], torch.Tensor) and id(inputs[0]) in produced:
            consumers.setdefault(id(inputs[0]), []).append(names[module])

    handles = []
    for module in model.modules():
        if isinstance(module, _CONVS + _BNS):
            handles.append(module.register_forward_hook(after))
        if not list(module.children()):
            handles.append(module.register_forward_pre_hook(before_any))
    try:
        with torch.no_grad():
            model(probe)
    finally:
        for h in handles:
            h.remove()
    modules = dict(model.named_modules())
    conv_bn, bn_conv = [], []
    for tid, producer in produced.items():
        users = consumers.get(tid, [])
        if len(users) != 1:
            continue
        first, second = modules[producer], modules[users[0]]
        if isinstance(first, _CONVS) and isinstance(second, _BNS) and second.track_running_stats:
            conv_bn.append((producer, users[0]))
        elif isinstance(first, _BNS) and first.track_running_stats and _takes_bn_before(second):
            bn_conv.append((producer, users[0]))
    return conv_bn, bn_conv


def _takes_bn_before(module: nn.Module) -> bool:
    """A convolution a BatchNorm before it folds into: no padding (the padded border would see the
    normalised zero, not zero) and one group."""
    return (isinstance(module, _CONVS) and module.groups == 1 and not isinstance(module.padding, str)
            and not any(module.padding))


def _fold_bn_into_next_conv(bn: nn.modules.batchnorm._BatchNorm, conv: nn.Module) -> None:
    """``conv(bn(x)) == conv'(x)``: the BatchNorm's per-channel scale goes into the conv's input channels,
    its shift into the conv's bias."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale + (bn.bias if bn.bias is not None else 0.0)
    broadcast = (1, -1) + (1,) * (conv.weight.ndim - 2)
    weight = conv.weight * scale.reshape(broadcast)
    extra = (conv.weight * shift.reshape(broadcast)).sum(dim=tuple(range(1, conv.weight.ndim)))
    bias = extra if conv.bias is None else conv.bias + extra
    conv.weight, conv.bias = nn.Parameter(weight.detach()), nn.Parameter(bias.detach())


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def fold_batchnorm(model: nn.Module, probe: torch.Tensor) -> int:
    """Fold every BatchNorm that directly follows a convolution into it, and every other one that directly
    precedes an unpadded convolution into that, in place (eval mode).

    Returns the number of BatchNorm layers folded.
    """
    model.eval()
    modules = dict(model.named_modules())
    conv_bn, bn_conv = _adjacent_pairs(model, probe)
    for conv_name, bn_name in conv_bn:
        conv, bn = modules[conv_name], modules[bn_name]
        weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
        conv.weight, conv.bias = weight, bias
        _set_module(model, bn_name, nn.Identity())
    folded = {bn for _, bn in conv_bn}
    before = [(bn, conv) for bn, conv in bn_conv if bn not in folded]
    for bn_name, conv_name in before:
        _fold_bn_into_next_conv(modules[bn_name], modules[conv_name])
        _set_module(model, bn_name, nn.Identity())
    return len(conv_bn) + len(before)


class _OneDNNConvMixin:
    """Runs the convolution through oneDNN on CPU, whatever its shape.

    For fp32 inputs PyTorch picks its im2col kernel (``slow_conv3d``) when a convolution looks small:
    batch 1, kernels of at most 3x3 and ``N*C*T*H <= 20480``, which is most of a batch-1 SlowFast or
    R(2+1)D.  oneDNN runs those faster, especially channels-last (``scripts/benchmark.py`` shows it).
    """

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if input.device.type != "cpu" or input.requires_grad:
            return super()._conv_forward(input, weight, bias)  # type: ignore[misc]
        return torch.mkldnn_convolution(input, weight, bias, self.padding, self.stride, self.dilation, self.groups)


class OneDNNConv2d(_OneDNNConvMixin, nn.Conv2d):
    """:class:`nn.Conv2d` that always uses oneDNN on CPU (see :class:`_OneDNNConvMixin`)."""


class OneDNNConv3d(_OneDNNConvMixin, nn.Conv3d):
    """:class:`nn.Conv3d` that always uses oneDNN on CPU (see :class:`_OneDNNConvMixin`)."""


def use_onednn_convolutions(model: nn.Module) -> int:
    """Swap every zero-padded ``nn.Conv2d``/``nn.Conv3d`` for its oneDNN twin, sharing the parameters.

    Returns the number of convolutions swapped (those with string or non-zero padding modes are kept).
    """
    swapped = 0
    for name, module in list(model.named_modules()):
        kind = {nn.Conv2d: OneDNNConv2d, nn.Conv3d: OneDNNConv3d}.get(type(module))
        if kind is None or module.padding_mode != "zeros" or isinstance(module.padding, str):
            continue
        twin = kind(module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
                    module.dilation, module.groups, module.bias is not None, device="meta")
        twin.weight, twin.bias = module.weight, module.bias
        twin.train(module.training)
        _set_module(model, name, twin)
        swapped += 1
    return swapped


_FLOAT32_MODULES = (nn.LSTM, nn.GRU, nn.RNN)


def _map_tensors(fn, value):
    """``value`` with ``fn`` applied to every tensor in it (inside tuples and lists too)."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_map_tensors(fn, v) for v in value)
    return value


def _cast(value, dtype: torch.dtype):
    """``value`` with every floating tensor in it cast to ``dtype``."""
    return _map_tensors(lambda t: t.to(dtype) if t.is_floating_point() else t, value)


class Float32Island(nn.Module):
    """Runs ``module`` in float32 inside a low-precision model: inputs up-cast, outputs cast back.

    Recurrent layers carry their state through every time step, so rounding accumulates; they cost
    little next to the convolutions, so they stay float32.  (Measured on LRCN trained on the synthetic
    clips: bf16 top-1 agreement stayed 94.5 % either way, limited by clips the fp32 model is undecided on.)
    Modules whose kernels have no bf16 version on the device (``avg_pool3d`` on CPU) run in one too.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module.float()

    def forward(self, *args):
        dtype = next((a.dtype for a in args if isinstance(a, torch.Tensor)), torch.float32)
        return _cast(self.module(*_cast(args, torch.float32)), dtype)


def _keep_float32(model: nn.Module) -> None:
    for name, module in list(model.named_modules()):
        if isinstance(module, _FLOAT32_MODULES):
            _set_module(model, name, Float32Island(module))


def _float32_where_kernels_are_missing(served: InferenceModel, probe, max_modules: int = 32) -> list[str]:
    """Run ``served`` on ``probe``; a module that fails for want of a low-precision kernel runs in fp32.

    Some CPU kernels have no bfloat16 version (``avg_pool3d`` in torch 2.13, for one).  The failing
    module is the innermost one whose forward had started and not finished when the error was
    raised; it and every module of its class are wrapped in :class:`Float32Island` and the probe runs
    again.  Returns what was kept in float32, and why.
    """
    kept: list[str] = []
    for _ in range(max_modules):
        running: list[str] = []

        def finished(module: nn.Module, args, out) -> None:
            running.pop()

        hooks = []
        for name, module in served.model.named_modules():
            hooks.append(module.register_forward_pre_hook(lambda m, args, name=name: running.append(name)))
            hooks.append(module.register_forward_hook(finished))
        try:
            served(probe)
            return kept
        except (NotImplementedError, RuntimeError) as err:
            if "not implemented for" not in str(err) or not running or not running[-1]:
                raise
            kind = type(served.model.get_submodule(running[-1]))
            names = [n for n, m in served.model.named_modules() if type(m) is kind]
            for name in names:  # its siblings most likely call the same kernel: one retry, not one each
                _set_module(served.model, name, Float32Island(served.model.get_submodule(name)))
            kept.append(f"{len(names)} {kind.__name__} module(s) (first {running[-1]}) run in float32: "
                        f"{str(err).splitlines()[0]}")
        finally:
            for hook in hooks:
                hook.remove()
    raise RuntimeError(f"more than {max_modules} modules lack {served.dtype} kernels: {kept}")


def _to_channels_last(model: nn.Module) -> None:
    """Lay out every convolution's weight channels-last (3D kernels as ``channels_last_3d``)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv3d, nn.Conv2d)):
            fmt = torch.channels_last_3d if isinstance(module, nn.Conv3d) else torch.channels_last
            module.weight.data = module.weight.data.contiguous(memory_format=fmt)


def _copy_module(model: nn.Module) -> nn.Module:
    """``copy.deepcopy`` that drops tensors a module keeps from its last forward (non-leaf attributes).

    LRCN, for example, keeps ``per_step_logits`` for its training loss; such a tensor is part of an
    autograd graph, cannot be deep-copied and is meaningless in a copy, so the copy gets ``None``.
    """
    memo: dict[int, object] = {}
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = None
    return copy.deepcopy(model, memo)


def _tolerance(reference: torch.Tensor) -> float:
    return 1e-4 * max(1.0, float(reference.abs().max()))


def optimize_for_inference(
    model: nn.Module,
    example: torch.Tensor | tuple[torch.Tensor, ...] | Sequence[int] | None = None,
    precision: str = "fp32",
    channels_last: bool = True,
    compile: bool = False,
    calibration: torch.Tensor | Iterable[torch.Tensor] | None = None,
    hold_memory: bool = True,
) -> InferenceModel:
    """A copy of ``model`` prepared for serving.

    Args:
        model: any zoo model (left unchanged).
        example: a probe input ``(N, C, T, H, W)`` (a tuple of tensors for multi-input models) or its
            shape (default: the model's card input, else ``(1, 3, 16, 112, 112)``).
        precision: ``"fp32"``, ``"bf16"`` (weights and activations in bfloat16), ``"int8"`` (needs
            ``calibration``) or ``"auto"`` (bf16 where the CPU has bf16 instructions and the bf16
            model agrees with fp32 on the probe and the calibration clips, else fp32).
        channels_last: use the channels-last (3D) memory layout.
        compile: wrap the result in ``torch.compile`` (inductor with weight freezing; the first call
            compiles, 10-30 s for a ResNet-50 on two CPU cores).  Not with ``"int8"``.
        calibration: input batches ``(N, C, T, H, W)`` preprocessed like the model's input (a few
            real clips of the target data): int8 takes its activation ranges from them, ``"auto"``
            checks bf16's agreement on them too.
        hold_memory: keep freed memory in the process for the next call (:func:`hold_freed_memory`;
            process-wide).  Without it a batch of clips spends a third of its time in page faults.

    Returns:
        An :class:`InferenceModel`; ``precision`` is the one that runs, ``zoo_folded`` counts folded
        BatchNorms, ``zoo_onednn`` the convolutions moved to oneDNN (none with ``compile``),
        ``zoo_skipped`` lists steps not applied and why, ``zoo_agreement`` compares a reduced
        precision with fp32 (:func:`agreement`).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if hold_memory:
        hold_freed_memory()
    probe = _probe(model, example)
    if precision == "int8":
        return _optimize_int8(model, probe, calibration, channels_last, compile)
    if precision == "auto":
        return _optimize_auto(model, probe, calibration, channels_last, compile)
    return _optimize_float(model, probe, precision, channels_last, compile)


_MALLOC_PARAMETERS = {"M_TRIM_THRESHOLD": (-1, -1), "M_MMAP_MAX": (-4, 0)}


def hold_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse instead of giving it back to the OS.

    Why: glibc serves every block above its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and
    returns it with ``munmap`` when freed, so each large activation is faulted in, page by page, on
    every call.  At batch 8 most of a video model's activations are that large: TSN-R50 took 110k page
    faults per clip at batch 8 against 22k at batch 1, and ran fewer clips per second than at batch 1.
    Serving from the heap and never trimming it removes the faults; the process keeps its peak
    memory, as it would under jemalloc or tcmalloc.  Process-wide and idempotent.

    Returns:
        True where the C library is glibc and took both settings, else False (nothing changed).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        ok = all(libc.mallopt(code, value) == 1 for code, value in _MALLOC_PARAMETERS.values())
    except (OSError, AttributeError):
        return False
    if ok:
        logger.debug("malloc keeps freed memory (no mmap for large blocks, no trimming)")
    return ok


def serve_on(model: nn.Module, device: torch.device | str, precision: str = "auto", example=None,
             calibration=None) -> nn.Module:
    """``model`` ready to serve on ``device``: the fast path on a CPU, the model as built elsewhere.

    The fast path is tuned for CPUs (oneDNN); on another device only ``"auto"`` and ``"fp32"`` apply and
    the model runs as built.  ``example`` and ``calibration`` are as in :func:`optimize_for_inference`.

    Raises:
        ValueError: an unknown precision, int8 without calibration clips, or bf16/int8 off the CPU.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    device = torch.device(device)
    if device.type != "cpu":
        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision {precision!r} is the CPU fast path's; on {device} use auto or fp32")
        return model.to(device).eval()
    return optimize_for_inference(model.cpu().eval(), example, precision, calibration=calibration)


def describe_precision(served: nn.Module) -> str:
    """One line for a user: which precision runs, on which path, and how close it came to fp32."""
    if not isinstance(served, InferenceModel):
        return "fp32 (the model as built; the fast path is for CPUs)"
    line = f"{served.precision} (fast path"
    if served.zoo_agreement:
        line += (f"; top-1 agreement with fp32 {served.zoo_agreement['top1']:.2f}, logits within "
                 f"{served.zoo_agreement['relative_error']:.1%} of the largest")
    auto = [reason for reason in served.zoo_skipped if reason.startswith(("auto:", "int8 does not apply"))]
    return line + (f"; {auto[0]}" if auto else "") + ")"


def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16)."""
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


def agreement(reference: torch.Tensor, output: torch.Tensor) -> dict[str, float]:
    """How close ``output`` logits ``(N, K)`` are to ``reference`` ones.

    Returns ``top1`` (fraction of rows with the same arg-max) and ``relative_error`` (largest
    absolute difference over the largest absolute reference logit).
    """
    reference, output = reference.float().reshape(len(reference), -1), output.float().reshape(len(output), -1)
    top1 = float((reference.argmax(1) == output.argmax(1)).float().mean())
    scale = max(float(reference.abs().max()), 1e-12)
    return {"top1": top1, "relative_error": float((output - reference).abs().max()) / scale}


def _check_inputs(probe, calibration) -> list:
    """The probe and the calibration batches: what a reduced precision is compared with fp32 on."""
    return [probe, *_calibration_batches(calibration)]


def _calibration_batches(calibration) -> list:
    if calibration is None:
        return []
    if isinstance(calibration, torch.Tensor):
        return [calibration.float()]
    return [_map_tensors(torch.Tensor.float, batch) for batch in calibration]


def _compare(eager: nn.Module, served: nn.Module, inputs: list) -> dict[str, float]:
    """:func:`agreement` of ``served`` with ``eager`` over all ``inputs`` (rows pooled)."""
    with torch.no_grad():
        reference = torch.cat([eager(x).float() for x in inputs])
        output = torch.cat([served(x).float() for x in inputs])
    return agreement(reference, output)


def _optimize_auto(model, probe, calibration, channels_last: bool, compile: bool) -> InferenceModel:
    """bf16 where the CPU has bf16 instructions and bf16 agrees with fp32, else fp32 (the reason kept)."""
    if not cpu_has_bf16():
        served = _optimize_float(model, probe, "fp32", channels_last, compile)
        served.zoo_skipped.append("auto: this CPU has no bf16 instructions (AVX512-BF16 / AMX); running fp32")
        return served
    served = _optimize_float(model, probe, "bf16", channels_last, compile=False)
    if served.dtype == torch.bfloat16:
        eager = _copy_module(model).eval()
        served.zoo_agreement = _compare(eager, served, _check_inputs(probe, calibration))
        if served.zoo_agreement["relative_error"] <= AUTO_BF16_TOLERANCE and served.zoo_agreement["top1"] == 1.0:
            if compile:
                served.model = torch.compile(served.model)  # type: ignore[assignment]
                served.compiled = True
            return served
        reason = (f"auto: bf16 disagrees with fp32 (top-1 agreement {served.zoo_agreement['top1']:.2f}, logits off by "
                  f"{served.zoo_agreement['relative_error']:.1%} of the largest); running fp32")
    else:
        reason = "auto: bf16 does not apply to this model; running fp32"
    fp32 = _optimize_float(model, probe, "fp32", channels_last, compile)
    fp32.zoo_skipped.append(reason)
    logger.warning("%s: %s", type(model).__name__, reason)
    return fp32


def _optimize_int8(model, probe, calibration, channels_last: bool, compile: bool) -> InferenceModel:
    """int8 through :func:`zoo.convert.quantize.quantize_int8`; parts it cannot quantise stay fp32."""
    from .convert.quantize import Int8Error, quantize_int8

    batches = _calibration_batches(calibration)
    if not batches:
        raise ValueError("precision='int8' needs calibration clips: pass calibration=[batch, ...], a few input "
                         "batches (N, C, T, H, W) of your own data preprocessed like the model's input")
    if compile:
        raise ValueError("compile=True does not apply to int8 (the quantised kernels are already oneDNN/fbgemm); "
                         "drop compile or use precision='bf16'")
    eager = _copy_module(model).eval()
    try:
        quantized = quantize_int8(eager, batches)
        # the quantised kernels pick their own layout: the input is passed as given
        served = InferenceModel(quantized, torch.float32, channels_last=False)
        served.zoo_agreement = _compare(eager, served, _check_inputs(probe, batches))
    except (Int8Error, RuntimeError) as err:
        # RuntimeError: a quantised kernel that fails on this input (as torch 2.13's quantised mean does on a
        # 1x1 map, which quantize_int8 now averages in float)
        served = _optimize_float(model, probe, "fp32", channels_last, compile=False)
        reason = f"int8 does not apply ({str(err).splitlines()[0]}); running fp32"
        served.zoo_skipped.append(reason)
        logger.warning("%s: %s", type(model).__name__, reason)
        return served
    served.precision = "int8"
    served.zoo_int8 = quantized.zoo_int8  # type: ignore[attr-defined]
    left = quantized.zoo_int8["float_layers"]
    if left:
        why = "a transformer's convolutions" if "<linear layers, dynamic>" in quantized.zoo_int8["quantized"] \
            else "not traceable for int8"
        served.zoo_skipped.append(f"{len(left)} convolution/linear layer(s) stay fp32, {why} (first: {left[0]})")
    logger.info("%s int8: top-1 agreement with fp32 %.2f, logits off by %.1f%% of the largest (probe and %d "
                "calibration batch(es))", type(model).__name__, served.zoo_agreement["top1"],
                100 * served.zoo_agreement["relative_error"], len(batches))
    for reason in served.zoo_skipped:
        logger.warning("%s: %s", type(model).__name__, reason)
    return served


def _optimize_float(model: nn.Module, probe, precision: str, channels_last: bool, compile: bool) -> InferenceModel:
    """The fp32 / bf16 fast path (see :func:`optimize_for_inference`)."""
    # one copy at a time (a ViT-g is 4 GB in fp32): the reference is taken before folding changes the copy
    prepared = _copy_module(model).eval()
    with torch.no_grad():
        reference = prepared(probe)
    skipped: list[str] = []
    folded, unfolded_because = 0, None
    try:
        folded = fold_batchnorm(prepared, probe)
        with torch.no_grad():
            diff = float((prepared(probe) - reference).abs().max())
        if diff > _tolerance(reference):
            unfolded_because = f"BatchNorm folding changed the output by {diff:.3g}"
    except Exception as err:  # an architecture the hooks cannot follow
        unfolded_because = f"BatchNorm folding failed ({type(err).__name__}: {err})"
    if unfolded_because:
        skipped.append(f"{unfolded_because}; left unfolded")
        prepared = None  # freed before its replacement is made
        prepared, folded = _copy_module(model).eval(), 0
    if channels_last:
        _to_channels_last(prepared)
    onednn = 0 if compile else use_onednn_convolutions(prepared)  # inductor picks its own kernels
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    if dtype != torch.float32 and _is_quantized(prepared):
        skipped.append(f"the model is quantized (int8); {precision} does not apply, it keeps float32 input and output")
        dtype = torch.float32
    prepared = prepared.to(dtype)
    if dtype != torch.float32:
        _keep_float32(prepared)
    if folded == 0 and onednn == 0 and not compile:
        skipped.append("no BatchNorm to fold and no convolution to move to oneDNN: the model runs as built")
    served = InferenceModel(prepared, dtype, channels_last)
    if dtype != torch.float32:
        skipped += _float32_where_kernels_are_missing(served, probe)
    served.zoo_folded = folded
    served.zoo_onednn = onednn
    served.zoo_skipped = skipped
    for reason in skipped:
        logger.warning("%s: %s", type(model).__name__, reason)
    if compile:
        served.model = torch.compile(served.model)  # type: ignore[assignment]
        served.compiled = True
    return served


def _is_quantized(model: nn.Module) -> bool:
    """Whether ``model`` holds quantized modules (``torch.ao.nn.quantized`` and friends)."""
    return any(".quantized" in type(m).__module__ for m in model.modules())


def _probe(model: nn.Module, example):
    if isinstance(example, torch.Tensor) or (isinstance(example, (tuple, list)) and example
                                             and isinstance(example[0], torch.Tensor)):
        return _map_tensors(torch.Tensor.float, example)
    if example is not None:
        shape = tuple(example)
    elif getattr(model, "zoo_name", None):
        from .registry import model_card

        shape = model_card(model.zoo_name).input.example_shape()
    else:
        shape = (1, 3, 16, 112, 112)
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))
