"""vcfq's exceptions, by the class the hosted API gives each failure."""


class VcfqError(Exception):
    """Any vcfq failure; a corrupt or unreadable file, or an internal error, is this
    class itself (the hosted API's 500). The message is the one `vcfq` prints."""

    #: The HTTP status `vcfq serve` (and the hosted API) answers with.
    status = 500
    #: The `vcfq` command's exit code.
    exit_code = 1


class BadRequest(VcfqError, ValueError):
    """The request, or the sample's file, does not meet a requirement (HTTP 400)."""

    status = 400
    exit_code = 2


class NotFound(VcfqError, LookupError):
    """The sample or its VCF does not exist (HTTP 404)."""

    status = 404
    exit_code = 3
