"""The type of a response body."""


class Body(bytes):
    """A response body: the exact bytes the hosted API sends (a ``bytes``, equal to the
    CLI's output without its newline). ``str()`` of it, and so ``print()``, is the JSON
    text itself, as ``vcfq query`` prints it, rather than the ``b'...'`` form."""

    __slots__ = ()

    def __str__(self) -> str:
        return self.decode("utf-8")
