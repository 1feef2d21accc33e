#!/usr/bin/python3
"""Writes the PyTorch fixture the training tests compare against.

Builds a tiny GPT-2 (llm.c layout: wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w,
ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb) with deterministic weights, runs it in float64 on a
fixed batch, and writes:

  torch_tiny_model.bin     llm.c checkpoint (256 int32 header: 20240326, 3, maxT, V, L, NH, C, Vp; float32 params)
  torch_tiny_expected.bin  256 int32 header (magic 20261128, version 1, B, T, V, Vp, param count),
                           then int32 inputs[B*T], int32 targets[B*T], float32 loss,
                           float32 logits[B*T*Vp], float32 grads[param count]

Run with Debian's python3-torch: /usr/bin/python3 make_torch_fixture.py (from this folder).
"""
import math
import struct
import torch
import torch.nn.functional as F

maxT, V, Vp, L, NH, C = 16, 37, 64, 2, 2, 16
B, T = 2, 8

torch.manual_seed(20240326)
shapes = [
    ("wte", (Vp, C)), ("wpe", (maxT, C)),
    ("ln1w", (L, C)), ("ln1b", (L, C)),
    ("qkvw", (L, 3 * C, C)), ("qkvb", (L, 3 * C)),
    ("attprojw", (L, C, C)), ("attprojb", (L, C)),
    ("ln2w", (L, C)), ("ln2b", (L, C)),
    ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)),
    ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)),
    ("lnfw", (C,)), ("lnfb", (C,)),
]
params = {}
for name, shape in shapes:
    w = torch.randn(shape, dtype=torch.float64) * 0.2
    if name in ("ln1w", "ln2w", "lnfw"):
        w = w + 1.0
    if name == "wte":
        w[V:] = 0.0  # padded vocabulary rows stay zero
    # round to float32 first so both sides start from identical weights
    params[name] = w.float().double().requires_grad_(True)

inputs = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))


def forward(p):
    x = p["wte"][inputs] + p["wpe"][:T]
    hs = C // NH
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        h = F.layer_norm(x, (C,), p["ln1w"][l], p["ln1b"][l], eps=1e-5)
        qkv = h @ p["qkvw"][l].T + p["qkvb"][l]
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, NH, hs).transpose(1, 2)
        k = k.view(B, T, NH, hs).transpose(1, 2)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p["attprojw"][l].T + p["attprojb"][l]
        h = F.layer_norm(x, (C,), p["ln2w"][l], p["ln2b"][l], eps=1e-5)
        h = F.gelu(h @ p["fcw"][l].T + p["fcb"][l], approximate="tanh")
        x = x + h @ p["fcprojw"][l].T + p["fcprojb"][l]
    x = F.layer_norm(x, (C,), p["lnfw"], p["lnfb"], eps=1e-5)
    logits = x @ p["wte"].T  # B, T, Vp (tied LM head)
    loss = F.cross_entropy(logits[:, :, :V].reshape(-1, V), targets.reshape(-1))
    return loss, logits


loss, logits = forward(params)
loss.backward()

flat = torch.cat([params[n].detach().reshape(-1) for n, _ in shapes]).float()
grads = torch.cat([params[n].grad.reshape(-1) for n, _ in shapes]).float()


def header(values):
    h = list(values) + [0] * (256 - len(values))
    return struct.pack("<256i", *h)


with open("torch_tiny_model.bin", "wb") as f:
    f.write(header([20240326, 3, maxT, V, L, NH, C, Vp]))
    f.write(flat.numpy().astype("<f4").tobytes())

with open("torch_tiny_expected.bin", "wb") as f:
    f.write(header([20261128, 1, B, T, V, Vp, flat.numel()]))
    f.write(struct.pack(f"<{B*T}i", *inputs.reshape(-1).tolist()))
    f.write(struct.pack(f"<{B*T}i", *targets.reshape(-1).tolist()))
    f.write(struct.pack("<f", float(loss)))
    f.write(logits.detach().float().reshape(-1).numpy().astype("<f4").tobytes())
    f.write(grads.numpy().astype("<f4").tobytes())

print(f"params {flat.numel()}, loss {float(loss):.6f}")
