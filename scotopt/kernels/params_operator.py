"""The one thing every structured device operator shares: arrays in ``params``, structure elsewhere.

The drivers compile their iteration once per operator *structure* (``cache_key``) and pass the
device arrays (``params``) as arguments of the compiled program, so a compiled program serves
every operator of the same structure. ``with_params`` is how the traced program rebuilds an
operator around its traced arrays.
"""

from __future__ import annotations


class ParamsOperator:
    """Base of the structured device operators (network, inventory, sharded): ``params`` holds
    the device arrays, every other attribute is static structure."""

    params: tuple = ()

    def with_params(self, params):
        """A shallow copy of this operator with ``params`` replaced (nothing else is copied)."""
        op = type(self).__new__(type(self))
        op.__dict__.update(self.__dict__)
        op.params = params
        return op
