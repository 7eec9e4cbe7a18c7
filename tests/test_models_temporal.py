"""Temporal architectures (two-stream, fusion CNNs, LRCN, TSM/TAM/C2D, X3D) and zoo.flow."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import zoo.models  # noqa: F401  (registers the families)
from zoo.registry import get_model_list, model_card
from zoo.weights import get_model

torch.set_num_threads(1)

# name -> (input builder, extra kwargs keeping the test small)
RGB = lambda t, s=32: torch.randn(2, 3, t, s, s)  # noqa: E731
CASES = {
    "tsm_resnet50": (lambda: RGB(2), {"num_segments": 2}),
    "tam_resnet50": (lambda: RGB(2), {"num_segments": 2}),
    "c2d_resnet50": (lambda: RGB(4), {}),
    "x3d_xs": (lambda: RGB(4), {}),
    "x3d_s": (lambda: RGB(4), {}),
    "x3d_m": (lambda: RGB(4), {}),
    "fusion_single_frame": (lambda: RGB(3, 64), {}),
    "fusion_late": (lambda: RGB(16, 64), {}),
    "fusion_early": (lambda: RGB(10, 64), {}),
    "fusion_slow": (lambda: RGB(10, 64), {}),
    "fusion_multires": (lambda: RGB(10, 96), {}),
    "lrcn_resnet18": (lambda: RGB(3), {}),
    "lrcn_resnet50": (lambda: RGB(2), {}),
    "two_stream_resnet18": (lambda: (RGB(1), torch.randn(2, 2, 10, 32, 32)), {}),
    "two_stream_resnet18_lstm": (lambda: {"rgb": RGB(3), "flow": torch.randn(2, 2, 30, 32, 32)}, {}),
    "two_stream_resnet50": (lambda: (RGB(1), torch.randn(2, 2, 4, 32, 32)), {"flow_len": 4}),
    "two_stream_xception": (lambda: (RGB(1), torch.randn(2, 2, 4, 32, 32)), {"flow_len": 4}),
    "two_stream_xception_lstm": (lambda: (RGB(2), torch.randn(2, 2, 4, 32, 32)), {"flow_len": 2, "num_segments": 2}),
    "flow_resnet18": (lambda: torch.randn(2, 2, 10, 32, 32), {}),
    "flow_xception": (lambda: torch.randn(2, 2, 4, 32, 32), {"flow_len": 4}),
}


def test_every_name_is_registered_without_weights():
    names = set(get_model_list())
    assert set(CASES) <= names
    for name in CASES:
        card = model_card(name)
        assert card.weights == ()
        assert card.input.note or card.description


@pytest.mark.parametrize("name", sorted(CASES))
def test_builds_runs_forward_and_backward(name):
    make_input, kwargs = CASES[name]
    torch.manual_seed(0)
    model = get_model(name, num_classes=5, **kwargs)
    model.train()
    out = model(make_input())
    assert out.shape == (2, 5)
    out.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads), "every parameter takes part in the forward pass"
    assert any(g.abs().sum() > 0 for g in grads)


def test_s3d_is_registered_by_its_family():
    assert "s3d_kinetics400" in get_model_list("s3d*")


# ------------------------------------------------------------------ TSM / TAM


def test_temporal_shift_moves_the_right_channels():
    from zoo.models.tsm import temporal_shift

    n, t, c = 2, 3, 8
    # value = 100 * frame + channel, so every element says where it came from
    frames = torch.arange(t).view(1, t, 1, 1, 1) * 100.0 + torch.arange(c).view(1, 1, c, 1, 1)
    x = frames.expand(n, t, c, 2, 2).reshape(n * t, c, 2, 2)
    out = temporal_shift(x, num_segments=t, fold_div=4).view(n, t, c, 2, 2)[..., 0, 0]
    for f in range(t):
        # channels 0-1: from the next frame (zero after the last)
        expected_next = [100.0 * (f + 1) + ch if f + 1 < t else 0.0 for ch in (0, 1)]
        assert out[0, f, :2].tolist() == expected_next
        # channels 2-3: from the previous frame (zero before the first)
        expected_prev = [100.0 * (f - 1) + ch if f > 0 else 0.0 for ch in (2, 3)]
        assert out[0, f, 2:4].tolist() == expected_prev
        # the rest untouched
        assert out[1, f, 4:].tolist() == [100.0 * f + ch for ch in range(4, 8)]


def test_temporal_shift_rejects_a_batch_that_is_not_whole_clips():
    from zoo.models.tsm import temporal_shift

    with pytest.raises(ValueError, match="num_segments"):
        temporal_shift(torch.zeros(5, 8, 1, 1), num_segments=2)


def test_tam_blends_neighbouring_frames_per_channel():
    from zoo.models.tsm import TemporalAggregation

    tam = TemporalAggregation(torch.nn.Identity(), num_segments=3, channels=2)
    with torch.no_grad():
        tam.prev.weight.fill_(2.0)
        tam.current.weight.fill_(1.0)
        tam.next.weight.copy_(torch.tensor([3.0, -1.0]).view(2, 1, 1, 1))
    x = torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1, 1).expand(3, 2, 1, 1).contiguous()
    out = tam(x)[..., 0, 0]
    # frame 1, channel 0: 2 * x0 + 1 * x1 + 3 * x2
    assert out[1, 0].item() == pytest.approx(2 * 1 + 10 + 3 * 100)
    # frame 0 has no previous frame; channel 1's next weight is negative -> ReLU clips it
    assert out[0, 0].item() == pytest.approx(1 + 3 * 10)
    assert out[1, 1].item() == pytest.approx(max(0.0, 2 * 1 + 10 - 100))
    assert out[2, 0].item() == pytest.approx(2 * 10 + 100)


def test_tsm_needs_the_frames_it_was_built_for():
    model = get_model("tsm_resnet50", num_classes=3, depth=18, widths=(8, 8, 8, 8), num_segments=4)
    with pytest.raises(ValueError, match="num_segments=3"):
        model(RGB(3))


def test_tsm_mixes_time_and_tsn_does_not():
    """Reversing the frames changes a TSM's output; a TSN-style average over frames cannot see order."""
    torch.manual_seed(0)
    kwargs = dict(depth=18, widths=(8, 8, 8, 8), num_segments=4, dropout_ratio=0.0)
    x = RGB(4)
    flipped = x.flip(2)
    tsm = get_model("tsm_resnet50", num_classes=3, **kwargs).eval()
    assert not torch.allclose(tsm(x), tsm(flipped), atol=1e-6)
    from zoo.models.tsm import TemporalResNet

    tsn = TemporalResNet(3, temporal="none", **kwargs).eval()
    assert torch.allclose(tsn(x), tsn(flipped), atol=1e-5)


# ------------------------------------------------------------------ two-stream


def test_flow_conv_weight_averages_rgb_and_replicates():
    from zoo.models._backbones_small import flow_conv_weight

    rgb = torch.randn(4, 3, 3, 3)
    flow = flow_conv_weight(rgb, 6)
    assert flow.shape == (4, 6, 3, 3)
    for c in range(6):
        assert torch.allclose(flow[:, c], rgb.mean(dim=1))
    with pytest.raises(ValueError, match="RGB conv"):
        flow_conv_weight(torch.randn(4, 2, 3, 3), 6)


@pytest.mark.parametrize("backbone", ["resnet18", "xception"])
def test_two_stream_flow_stream_is_initialised_from_rgb(backbone):
    from zoo.models.two_stream import TwoStream

    kwargs = {"widths": (8, 8, 8, 8)} if backbone == "resnet18" else {"widths": (8, 8, 8, 8, 8, 8, 8), "middle_blocks": 1}
    model = TwoStream(4, backbone=backbone, backbone_kwargs=kwargs, flow_len=3)
    rgb_state, flow_state = model.rgb.state_dict(), model.flow.state_dict()
    first = "conv1.weight"
    assert flow_state[first].shape[1] == 6
    assert torch.allclose(flow_state[first], rgb_state[first].mean(1, keepdim=True).expand(-1, 6, -1, -1))
    for key, value in rgb_state.items():
        if key != first:
            assert torch.equal(flow_state[key], value), key


def test_two_stream_input_forms_and_errors():
    torch.manual_seed(0)
    model = get_model("two_stream_resnet18", num_classes=3, flow_len=2, backbone_kwargs={"widths": (8, 8, 8, 8)}).eval()
    rgb, flow = RGB(1), torch.randn(2, 2, 2, 32, 32)
    assert torch.allclose(model((rgb, flow)), model({"rgb": rgb, "flow": flow}))
    with pytest.raises(TypeError, match="rgb, flow"):
        model(rgb)
    with pytest.raises(ValueError, match="flow input"):
        model((rgb, torch.randn(2, 2, 3, 32, 32)))


def test_two_stream_flow_channels_interleave_x_and_y():
    from zoo.models.two_stream import TwoStream

    model = TwoStream(2, flow_len=3, modalities=("flow",), backbone_kwargs={"widths": (8, 8, 8, 8)})
    flow = torch.zeros(1, 2, 3, 4, 4)
    flow[0, 0] = torch.arange(3).view(3, 1, 1) * 10.0  # x of field l = 10 l
    flow[0, 1] = torch.arange(3).view(3, 1, 1) * 10.0 + 1  # y of field l = 10 l + 1
    stacked = model._frames("flow", flow)[0, :, 0, 0]
    assert stacked.tolist() == [0.0, 1.0, 10.0, 11.0, 20.0, 21.0]


# ------------------------------------------------------------------ LRCN, fusion


def test_lrcn_per_step_logits_and_prediction():
    from zoo.models.lrcn import lrcn_step_loss

    torch.manual_seed(0)
    small = {"backbone_kwargs": {"widths": (8, 8, 8, 8)}, "hidden_size": 16, "dropout_ratio": 0.0}
    model = get_model("lrcn_resnet18", num_classes=4, **small).eval()
    x = RGB(5)
    out = model(x)
    steps = model.per_step_logits
    assert steps.shape == (2, 5, 4)
    assert torch.allclose(out, steps.mean(dim=1), atol=1e-6)
    model.predict = "last"
    assert torch.allclose(model(x), steps[:, -1], atol=1e-6)
    labels = torch.tensor([1, 3])
    expected = torch.nn.functional.cross_entropy(steps.reshape(10, 4), torch.tensor([1] * 5 + [3] * 5))
    assert lrcn_step_loss(steps, labels).item() == pytest.approx(expected.item())


def test_single_frame_sees_only_the_middle_frame():
    model = get_model("fusion_single_frame", num_classes=3, widths=(8, 8, 8, 8, 8), fc_width=16).eval()
    x = RGB(5, 48)
    y = x.clone()
    y[:, :, [0, 1, 3, 4]] = torch.randn_like(y[:, :, [0, 1, 3, 4]])
    assert torch.allclose(model(x), model(y))


def test_late_fusion_sees_first_and_last_frame_only():
    model = get_model("fusion_late", num_classes=3, num_frames=5, widths=(8, 8, 8, 8, 8), fc_width=16).eval()
    x = RGB(5, 48)
    y = x.clone()
    y[:, :, 1:4] = 0
    assert torch.allclose(model(x), model(y))
    z = x.clone()
    z[:, :, 4] = 0
    assert not torch.allclose(model(x), model(z))


def test_fusion_rejects_wrong_clip_length_and_slow_fusion_reduces_time():
    model = get_model("fusion_slow", num_classes=3, widths=(8, 8, 8, 8, 8), fc_width=16)
    assert model.tower.out_frames == 1  # 10 -> 4 -> 2 -> 1
    with pytest.raises(ValueError, match="num_frames=8"):
        model(RGB(8, 48))
    with pytest.raises(ValueError, match="fusion must be"):
        get_model("fusion_slow", num_classes=3, fusion="medium")


# ------------------------------------------------------------------ optical flow


def _tiny_video(tmp_path, label: int, name: str = "clip.mp4"):
    from zoo.data.synthetic import render_clip, write_video

    video = render_clip(label, 8, 48, 48, np.random.default_rng(label))
    return write_video(tmp_path / name, video, fps=8)


def test_quantize_round_trip_and_clipping():
    from zoo.flow.extract import dequantize_flow, quantize_flow

    flow = np.array([[-30.0, -20.0], [0.0, 7.3], [19.9, 25.0]], dtype=np.float32)
    q = quantize_flow(flow, bound=20)
    assert q.dtype == np.uint8
    assert q[0].tolist() == [0, 0] and q[2, 1] == 255
    back = dequantize_flow(q, bound=20)
    assert np.all(np.abs(back - np.clip(flow, -20, 20)) <= 20 / 255 + 1e-6)


def test_extract_flow_writes_images_resumes_and_has_the_motion(tmp_path):
    from zoo.flow import FlowStackReader, extract_flow
    from zoo.flow.extract import main

    (tmp_path / "videos").mkdir()
    _tiny_video(tmp_path / "videos", 1, "right.mp4")  # translate_right
    _tiny_video(tmp_path / "videos", 0, "left.mp4")  # translate_left
    list_file = tmp_path / "videos" / "list.txt"
    list_file.write_text("right.mp4 8 1\nleft.mp4 8 0\n")
    out = tmp_path / "flow"
    assert main([str(list_file), "--out", str(out)]) == 0
    right, left = out / "right", out / "left"
    assert sorted(p.name for p in right.glob("flow_x_*.jpg")) == [f"flow_x_{i:05d}.jpg" for i in range(1, 8)]
    assert len(list(right.glob("flow_y_*.jpg"))) == 7
    assert json.loads((right / "flow_done.json").read_text())["num_flows"] == 7
    dx_right = FlowStackReader(right).clip(range(7))[0].mean().item()
    dx_left = FlowStackReader(left).clip(range(7))[0].mean().item()
    assert dx_right > 0.005 and dx_left < -0.005, (dx_right, dx_left)

    # resume: finished videos are skipped (files untouched), an unfinished one is redone
    stamp = (right / "flow_x_00001.jpg").stat().st_mtime_ns
    (left / "flow_done.json").unlink()
    (left / "flow_x_00007.jpg").unlink()
    extract_flow(list_file, out, progress=False)
    assert (right / "flow_x_00001.jpg").stat().st_mtime_ns == stamp
    assert (left / "flow_x_00007.jpg").is_file() and (left / "flow_done.json").is_file()
    # different settings are not "done"
    from zoo.flow.extract import is_done

    assert is_done(right) and not is_done(right, bound=10.0)


def test_flow_stack_and_two_stream_dataset_feed_the_model(tmp_path):
    from zoo.flow import FlowClipDataset, FlowStackReader, extract_flow

    _tiny_video(tmp_path, 2)
    (tmp_path / "list.txt").write_text("clip.mp4 8 2\n")
    extract_flow(tmp_path / "list.txt", tmp_path / "flow", progress=False)
    reader = FlowStackReader(tmp_path / "flow" / "clip")
    stack = reader.stack(1, 3)
    clip = reader.clip([1, 2, 3])
    assert stack.shape == (6, 48, 48)
    assert torch.equal(stack[0::2], clip[0]) and torch.equal(stack[1::2], clip[1])
    assert stack.min() >= -1 and stack.max() <= 1

    ds = FlowClipDataset(tmp_path / "list.txt", tmp_path / "flow", flow_len=3, num_segments=2, mode="val", size=32)
    (rgb, flow), label = ds[0]
    assert rgb.shape == (3, 2, 32, 32) and flow.shape == (2, 6, 32, 32) and label == 2
    model = get_model("two_stream_resnet18_lstm", num_classes=8, flow_len=3, num_segments=2,
                      backbone_kwargs={"widths": (8, 8, 8, 8)}).eval()
    assert model((rgb[None], flow[None])).shape == (1, 8)
