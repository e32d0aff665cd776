"""Plain PyTorch: the soft value and policy written with torch, as ``value`` / ``policy``.

``soft_value_torch`` takes and returns tensors, as torch code does; the kit passes
NumPy arrays (``torch.logsumexp`` refuses them). ``soft_value`` and ``soft_policy``
wrap it: ``torch.from_numpy`` keeps float64.

    softq-ref check examples/libraries/torch_client.py:soft_value --kind value
    softq-ref check examples/libraries/torch_client.py:soft_policy --kind policy
"""

import torch


def soft_value_torch(Q, alpha):
    return alpha * torch.logsumexp(Q / alpha, dim=-1)


def soft_policy_torch(Q, alpha):
    return torch.softmax(Q / alpha, dim=-1)


def soft_value(Q, alpha):
    return soft_value_torch(torch.from_numpy(Q), alpha).numpy()


def soft_policy(Q, alpha):
    return soft_policy_torch(torch.from_numpy(Q), alpha).numpy()
