"""One rank of the DistributedDataParallel test (``test_distributed.py`` starts two).

    python ddp_worker.py RANK WORLD RENDEZVOUS_FILE MODULE.py DATA.npz OUT.pt STEPS LR

Trains the emitted module's ``Model`` under DistributedDataParallel (gloo, CPU) on this
rank's share of the batch for STEPS steps of SGD and saves its parameters to OUT.pt."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel


def main(rank: int, world: int, rendezvous: str, module_path: str, data_path: str,
         out_path: str, steps: int, lr: float) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{rendezvous}",
                                         rank=rank, world_size=world)
    try:
        spec = importlib.util.spec_from_file_location("emitted", module_path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        data = np.load(data_path)
        net = mod.Model(dtype=torch.float64)
        with torch.no_grad():
            for name, p in net.named_parameters():
                p.copy_(torch.from_numpy(data[f"P_{name}"]))
        model = DistributedDataParallel(net)
        x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
        share = slice(rank * x.shape[1] // world, (rank + 1) * x.shape[1] // world)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for _ in range(steps):
            opt.zero_grad()
            out, _final = model(x[:, share])
            mod.criterion(out["o"], y[:, share]).backward()
            opt.step()
        torch.save({name: p.detach() for name, p in net.named_parameters()}, out_path)
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]), int(a[1]), a[2], a[3], a[4], a[5], int(a[6]), float(a[7]))
