"""The API's filter backend (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"]): the views' FilterSets, with a blank value
refused. django-filter takes `?stage=` (or `?updated_since=%20`) as "no filter", so a client that interpolated an
unset variable would sync every row; here it is a 400 naming the parameter, as the schema says (minLength 1, and a
pattern or an enum or a format that white space does not match: feedback.api.schema.describe_inputs)."""

from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions

BLANK_MESSAGE = "This filter may not be blank: leave it out to list every row."


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        blank = {name: [BLANK_MESSAGE] for name in filterset.form.fields
                 if name in request.query_params and not request.query_params[name].strip()}
        if blank:
            raise exceptions.ValidationError(blank)
        if not filterset.is_valid():
            raise utils.translate_validation(filterset.errors)
        return filterset.qs
