"""The view: GET only, so DRF and Django's View give HEAD, OPTIONS, Allow and 405."""
import json
import threading

import vcfq
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

# The request parameters the view hands to vcfq; any other one (but limit, offset
# and format, which DRF's paginator and content negotiation read) is ignored, as a
# DRF view that reads `request.query_params.get(name)` ignores it (vcfq's keyword
# API rejects unknown names, so they cannot all be passed on).
QUERY_PARAMETERS = ("chromosome", "position", "start_position", "end_position", "rsid")


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Bad request.")
    default_code = "bad_request"


class VcfqFailure(exceptions.APIException):
    def __init__(self, error):
        super().__init__(str(error))
        self.status_code = getattr(error, "status", status.HTTP_500_INTERNAL_SERVER_ERROR)


_samples_lock = threading.Lock()
_samples_map = None
_open_samples = {}


def _sample_path(sample_id):
    global _samples_map
    with _samples_lock:
        if _samples_map is None:
            with open(settings.VCFQ_SAMPLES_FILE, encoding="utf-8") as f:
                _samples_map = {k.lower(): v for k, v in json.load(f).items()}
        return _samples_map.get(str(sample_id).lower())


def _open_sample(path):
    with _samples_lock:
        sample = _open_samples.get(path)
    if sample is None:
        sample = vcfq.Sample(path, dbsnp=settings.VCFQ_DBSNP)
        with _samples_lock:
            _open_samples.setdefault(path, sample)
    return sample


class SampleGenomicVariantsView(APIView):
    """Variant-level records of one sample's genome: a position, a window of up to 100 kb, or a list of rsIDs."""

    # GET only: DRF (and Django's View) supply HEAD, OPTIONS, Allow and 405s. The
    # docstring is the OPTIONS description (`vcfq serve` answers with the same).
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    def get(self, request, sample_id):
        path = _sample_path(sample_id)
        if path is None:
            raise exceptions.NotFound()
        params = {
            name: request.query_params.get(name)
            for name in QUERY_PARAMETERS
            if name in request.query_params
        }
        try:
            results = _open_sample(path).query_json(**params, schema="openapi")["results"]
        except vcfq.BadRequest as error:
            raise BadRequest(str(error))
        except vcfq.NotFound:
            raise exceptions.NotFound()
        except vcfq.VcfqError as error:
            raise VcfqFailure(error)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(results, request, view=self)
        if page is None:
            # No PAGE_SIZE and no usable `limit`: a ListAPIView answers the bare list.
            return Response(results)
        return paginator.get_paginated_response(page)
