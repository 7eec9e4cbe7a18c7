"""`make demo`: the most complete real path (replaced by the full training job once it lands).

Builds a model, publishes its weights to a local hub folder under their hash, serves the folder on
127.0.0.1, loads the model back by name with ``get_model(..., pretrained=True)`` and classifies a real video.
"""
from __future__ import annotations

import functools
import http.server
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import torch

import zoo

VIDEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "arm_wrestling.mp4"


def read_clip(path: Path, frames: int, size: int) -> torch.Tensor:
    """Centre ``frames`` frames of a video, resized to ``size``: ``(1, 3, T, H, W)`` in ``[0, 1]``."""
    import av

    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="rgb24", width=size, height=size) for f in container.decode(video=0)]
    start = max(0, (len(images) - frames) // 2)
    clip = np.stack(images[start : start + frames]).astype(np.float32) / 255.0
    return torch.from_numpy(clip).permute(3, 0, 1, 2).unsqueeze(0)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def main() -> None:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ZOO_HOME"] = str(Path(tmp) / "home")
        hub_dir = Path(tmp) / "hub"
        net = zoo.get_model("simple3d_synthetic").eval()
        entry = zoo.publish(net, "demo_simple3d", "simple3d_synthetic", hub_dir=hub_dir)
        print(f"published {entry.file} (sha1 {entry.sha1}) to {hub_dir}")
        handler = functools.partial(QuietHandler, directory=str(hub_dir))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        os.environ["ZOO_REPO_URL"] = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"serving the hub at {os.environ['ZOO_REPO_URL']}")
        loaded = zoo.get_model("demo_simple3d", pretrained=True).eval()
        print(f"loaded demo_simple3d from the hub into {zoo.list_cache()[0].path}")
        spec = zoo.model_card("demo_simple3d").input
        clip = read_clip(VIDEO, spec.clip_len, spec.crop_size) if VIDEO.exists() else torch.rand(1, 3, spec.clip_len, spec.crop_size, spec.crop_size)
        mean, std = torch.tensor(spec.mean).view(1, 3, 1, 1, 1), torch.tensor(spec.std).view(1, 3, 1, 1, 1)
        with torch.no_grad():
            a, b = net((clip - mean) / std), loaded((clip - mean) / std)
        print(f"clip {tuple(clip.shape)} from {VIDEO.name if VIDEO.exists() else 'random frames'}: "
              f"top class {int(b.argmax())}, max |published - loaded| = {float((a - b).abs().max()):.2e}")
        server.shutdown()


if __name__ == "__main__":
    main()
