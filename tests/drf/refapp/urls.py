from django.urls import path

from refapp.views import SampleGenomicVariantsView

urlpatterns = [
    path(
        "api/v2/sample-genomic-variants/<uuid:sample_id>",
        SampleGenomicVariantsView.as_view(),
    ),
]
