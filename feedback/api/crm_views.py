"""The CRM sync API: customers, cases, mentions and webhook subscriptions. Thin: parse, one service or
selector, serialize. Every list is paged by `feedback.api.pagination` and filtered by the FilterSet the
pages share; every error comes out in the one shape of `config.api`."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, status
from rest_framework.response import Response

from config.errors import NotFoundError, TransitionError
from config.filters import IdFilter
from config.query import MAX_ID, parse_int
from customers import sync
from customers.filters import CustomerFilterSet, TimelineFilterSet
from customers.models import Customer, TimelineEntry
from customers.webhooks import services as webhooks
from customers.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from feedback.api import crm_serializers as s
from feedback.api.pagination import SyncCursorPagination
from feedback.api.permissions import HasScope, token_of
from feedback.api.schema import ERROR_TEXT, ScopedAutoSchema, bound_list_body
from feedback.api.serializers import ApiErrorSerializer, MentionOutSerializer
from feedback.api.views import MentionCreateView
from feedback.cases.filters import CaseFilterSet
from feedback.cases.models import Case
from feedback.intake.filters import MentionFilterSet
from feedback.intake.models import Mention
from feedback.integrations import idempotency
from feedback.integrations.scopes import Scope
from feedback.linking import services as linking

# The shared FilterSets (config.filters) stay free of DRF; their id filters are documented here as what they take.
extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})(IdFilter)


def errors(*codes: int) -> dict:
    """The documented error answers of an operation (always 401, 403 and 429 too)."""
    return {code: OpenApiResponse(ApiErrorSerializer, description=ERROR_TEXT[code])
            for code in sorted({*codes, 401, 403, 429})}


def object_id(value) -> int:
    """A path id, or 404 (a number PostgreSQL's bigint cannot hold names no row)."""
    pk = parse_int(str(value))
    if pk is None:
        raise Http404
    return pk


class BadBody(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_body"
    default_detail = "Send a JSON body of the documented shape."


class CrmView(generics.GenericAPIView):
    schema = ScopedAutoSchema()
    permission_classes = [HasScope]
    pagination_class = None  # the sync lists set theirs; the short lists (webhooks) are plain JSON lists
    required_scopes: dict[str, str | tuple[str, ...]] = {}

    def filter_queryset(self, queryset):
        """The view's FilterSet, when the query names one of its filters (without any, it would filter nothing:
        a sync's pages skip building it)."""
        filterset = getattr(self, "filterset_class", None)
        if filterset is not None and not any(name in self.request.query_params for name in filterset.base_filters):
            return queryset
        return super().filter_queryset(queryset)


# --- Customers -----------------------------------------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    # Printable ASCII, not starting or ending with a space (HTTP drops those); unique per request, which no JSON
    # Schema can say (a reused key with another body is a 422).
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH,
                        "pattern": "^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER, required=False,
    description="Any unique string (a UUID) up to 200 printable ASCII characters: a replay with the same key and "
                "body returns the first answer instead of running again; the same key with another body is 422.",
)


class CustomerListView(CrmView):
    """Customers in (updated_at, id) order, for full and incremental syncs."""

    queryset = Customer.objects.all()
    serializer_class = s.CustomerSerializer
    filterset_class = CustomerFilterSet
    pagination_class = SyncCursorPagination
    cursor_field = "updated_at"
    required_scopes = {"GET": Scope.CUSTOMERS_READ}

    @extend_schema(operation_id="customers_list", responses={200: s.CustomerSerializer(many=True), **errors(400)})
    def get(self, request):
        queryset = self.filter_queryset(s.lean_list(self.queryset, s.CUSTOMER_FIELDS, s.CUSTOMER_TIMES))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.customer_rows(page))


class CustomerBulkView(CrmView):
    """Create or update up to 1,000 customers by external_id, one outcome per row."""

    queryset = Customer.objects.all()
    required_scopes = {"POST": Scope.CUSTOMERS_WRITE}
    serializer_class = s.CustomerUpsertResult

    @extend_schema(
        operation_id=bound_list_body("customers_bulk_upsert", min_items=1, max_items=sync.MAX_UPSERT_ROWS,
                                     any_items=True),
        request=s.CUSTOMER_UPSERT_REQUEST,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.CustomerUpsertResult, **errors(400, 422)},
        description="Rows are matched by `external_id`: a new one is `created`, a known one `updated` with the "
                    "fields given, or `unchanged` when they equal the stored ones (its updated_at stays). A row "
                    "with invalid fields is `error` with field messages and never refuses the others. "
                    "Webhooks `customer.created` / `customer.updated` follow.",
    )
    def post(self, request):
        rows = request.data
        if not isinstance(rows, list) or not rows:
            raise BadBody("Send a JSON list of 1 to 1,000 customers.", code="invalid_body")
        if len(rows) > sync.MAX_UPSERT_ROWS:
            raise BadBody(f"The list holds {len(rows):,} rows; at most {sync.MAX_UPSERT_ROWS:,} per request.",
                          code="too_many_items")
        key = request.headers.get("Idempotency-Key")
        token = token_of(request)
        if key is None or token is None:
            return Response(sync.upsert_customers(rows=rows).as_dict())
        fingerprint = idempotency.fingerprint(
            method=request.method, path=request.path, body=json.dumps(rows, sort_keys=True, default=str).encode())
        with transaction.atomic():
            claim = idempotency.begin(token=token, key=key, fingerprint=fingerprint)
            if claim.replay:
                return Response(claim.record.response, status=claim.record.status_code,
                                headers={"Idempotent-Replayed": "true"})
            body = sync.upsert_customers(rows=rows).as_dict()
            idempotency.finish(claim=claim, status_code=200, response=body)
        return Response(body)


ETAG = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[200],
    description="The customer's version: send it as If-Match to change it.")
IF_MATCH = OpenApiParameter(
    "If-Match", {"type": "string", "minLength": 1}, OpenApiParameter.HEADER, required=True,
    description="The ETag of the customer as you read it (GET, or the answer to your last change), or `*` for "
                "whatever version is current. Another one: 412, nothing changed. None (or blank): 428.")


class CustomerDetailView(CrmView):
    """One customer with its identities; PATCH changes fields if If-Match still holds its ETag."""

    queryset = Customer.objects.all()
    required_scopes = {"GET": Scope.CUSTOMERS_READ, "PATCH": Scope.CUSTOMERS_WRITE}
    serializer_class = s.CustomerDetailSerializer

    def _customer(self, pk) -> Customer:
        return generics.get_object_or_404(Customer.objects.prefetch_related("identities"), pk=object_id(pk))

    @staticmethod
    def answer(customer: Customer) -> Response:
        return Response(s.CustomerDetailSerializer(customer).data, headers={"ETag": sync.etag(customer)})

    @extend_schema(operation_id="customers_retrieve", parameters=[ETAG],
                   responses={200: s.CustomerDetailSerializer, **errors(404)})
    def get(self, request, pk):
        return self.answer(self._customer(pk))

    @extend_schema(
        operation_id="customers_partial_update",
        request=s.CustomerFieldsIn,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.CustomerDetailSerializer, **errors(400, 404, 412, 428)},
    )
    def patch(self, request, pk):
        customer_id = object_id(pk)
        if not Customer.objects.filter(pk=customer_id).exists():
            raise Http404
        if not isinstance(request.data, dict):
            raise BadBody("Send the fields to change as a JSON object.")
        try:
            customer, _changed = sync.update_customer(customer_id=customer_id, changes=request.data,
                                                      if_match=request.headers.get("If-Match"))
        except Customer.DoesNotExist:
            raise Http404 from None
        return self.answer(self._customer(customer.pk))


def _requester(request) -> tuple[object | None, str]:
    """(the person, or None) and, for an integration token, the name the audit log and timeline give it."""
    token = token_of(request)
    if token is not None:
        return None, str(request.user)  # integration:<token name>
    return request.user, ""


class CustomerMergeView(CrmView):
    """Merge another record into this one (the portal's merge, one service)."""

    queryset = Customer.objects.all()
    required_scopes = {"POST": Scope.CUSTOMERS_WRITE}
    serializer_class = s.CustomerDetailSerializer

    @extend_schema(
        operation_id="customers_merge",
        request=s.CustomerMergeIn,
        responses={200: s.CustomerDetailSerializer, **errors(400, 404, 409)},
        description="Record `merged` turns out to be the same person as this record: its identities, mentions, "
                    "cases and timeline move here, its blank fields fill this record's blanks (values added, the "
                    "higher stage kept), and it stays as a pointer merged into this one. Webhook `customer.merged` "
                    "tells the CRM which record survives. 404 when record `merged` does not exist; 409 when it is "
                    "this record, or when either record was already merged or erased.",
    )
    def post(self, request, pk):
        survivor = generics.get_object_or_404(Customer, pk=object_id(pk))
        data = s.CustomerMergeIn(data=request.data)
        data.is_valid(raise_exception=True)
        merged_id = data.validated_data["merged"]
        # the body is well formed from here: what it names may be missing (404) or the wrong record (409)
        if merged_id == survivor.pk:
            raise TransitionError("A record cannot be merged into itself: name another.",
                                  fields={"merged": ["A record cannot be merged into itself: name another."]})
        merged = Customer.objects.filter(pk=merged_id).first()
        if merged is None:
            raise NotFoundError(f"There is no customer #{merged_id}: check the id.",
                                fields={"merged": [f"There is no customer #{merged_id}."]})
        by, via = _requester(request)
        survivor = linking.merge_customers(survivor=survivor, merged=merged, by=by, via=via)
        return CustomerDetailView.answer(Customer.objects.prefetch_related("identities").get(pk=survivor.pk))


class CustomerTimelineView(CrmView):
    """A customer's timeline, newest first."""

    queryset = TimelineEntry.objects.all()
    serializer_class = s.TimelineEntrySerializer
    filterset_class = TimelineFilterSet
    pagination_class = SyncCursorPagination
    cursor_field = "at"
    cursor_descending = True
    required_scopes = {"GET": Scope.CUSTOMERS_READ}

    @extend_schema(
        operation_id="customers_timeline",
        responses={200: s.TimelineEntrySerializer(many=True), **errors(400, 404)},
        description="Everything that happened to the person, newest first: posts on every channel, cases and their "
                    "status changes, replies, handoffs, notes, escalations, stage changes, merges and CRM updates. "
                    "Pages in (at, id) order from the newest; follow `next_cursor` while `has_more` for older "
                    "entries.",
    )
    def get(self, request, pk):
        customer_id = object_id(pk)
        if not Customer.objects.filter(pk=customer_id).exists():
            raise Http404
        entries = self.filter_queryset(TimelineEntry.objects.filter(customer_id=customer_id))
        page = self.paginate_queryset(s.lean_values(entries, s.TIMELINE_FIELDS, s.TIMELINE_TIMES))
        return self.get_paginated_response(s.timeline_rows(page))


class CustomerExportView(CrmView):
    """Everything Baton holds about a person, as JSON (the portal's export); audited."""

    queryset = Customer.objects.all()
    serializer_class = s.CustomerExportSerializer
    # The export holds the person's record, their cases and their posts: a token must be allowed to read all three.
    required_scopes = {"GET": (Scope.CUSTOMERS_READ, Scope.CASES_READ, Scope.MENTIONS_READ)}

    @extend_schema(
        operation_id="customers_export",
        responses={200: s.CustomerExportSerializer, **errors(404)},
        description="The record, the records merged into it, identities, suggestions, the timeline, the audit of "
                    "the person's data, every post (with its raw payload) and every case with its events: the same "
                    "JSON as the portal's export. Each export is written to the audit log (without the data).",
    )
    def get(self, request, pk):
        customer = generics.get_object_or_404(Customer, pk=object_id(pk))
        by, via = _requester(request)
        data = linking.export_customer(customer=customer, by=by, via=via)
        # The portal's encoding (decimals as strings, times in ISO 8601), as plain JSON values.
        return Response(json.loads(json.dumps(data, cls=DjangoJSONEncoder)))


class CustomerEraseView(CrmView):
    """Erase the person's personal data (the portal's erasure); the fact stays in the audit log."""

    queryset = Customer.objects.all()
    serializer_class = s.CustomerErasureSerializer
    required_scopes = {"POST": Scope.CUSTOMERS_WRITE}

    @extend_schema(
        operation_id="customers_erase",
        request=None,
        responses={200: s.CustomerErasureSerializer, **errors(404, 409)},
        description="Removes or blanks the person's data everywhere: the record's personal fields (its row and "
                    "external_id stay), identities and match keys, the words of their posts, cases, case events, "
                    "handoff and feedback notes, the replies written to them and the outbox's copies, notifications "
                    "quoting their cases, and their timeline. The audit log keeps the fact and the counts. "
                    "Idempotent: erasing again answers 200 and blanks whatever arrived since (`erased_at` stays the "
                    "first erasure's). 409 for a record merged into another: erase that one. Webhook "
                    "`customer.updated` follows, with `erased: true`.",
    )
    def post(self, request, pk):
        customer = generics.get_object_or_404(Customer, pk=object_id(pk))
        by, via = _requester(request)
        counts = linking.erase_customer(customer=customer, by=by, via=via)
        erased_at = Customer.objects.filter(pk=customer.pk).values_list("erased_at", flat=True).get()
        return Response(s.CustomerErasureSerializer({"customer": customer.pk, "erased_at": erased_at,
                                                     "counts": counts}).data)


# --- Cases and mentions -----------------------------------------------------------------------------------

class CaseListView(CrmView):
    """Cases in (updated_at, id) order."""

    queryset = Case.objects.all()
    serializer_class = s.CaseSerializer
    filterset_class = CaseFilterSet
    pagination_class = SyncCursorPagination
    cursor_field = "updated_at"
    required_scopes = {"GET": Scope.CASES_READ}

    @extend_schema(operation_id="cases_list", responses={200: s.CaseSerializer(many=True), **errors(400)})
    def get(self, request):
        cases = self.filter_queryset(s.lean_list(self.queryset, s.CASE_FIELDS, s.CASE_TIMES))
        return self.get_paginated_response(s.case_rows(self.paginate_queryset(cases)))


class CaseDetailView(CrmView):
    queryset = Case.objects.all()
    serializer_class = s.CaseSerializer
    required_scopes = {"GET": Scope.CASES_READ}

    @extend_schema(operation_id="cases_retrieve", responses={200: s.CaseSerializer, **errors(404)})
    def get(self, request, pk):
        case = generics.get_object_or_404(Case.objects.select_related("customer", "department"), pk=object_id(pk))
        return Response(s.CaseSerializer(case).data)


class MentionListView(CrmView):
    """Mentions in (received_at, id) order."""

    queryset = Mention.objects.all()
    serializer_class = MentionOutSerializer
    filterset_class = MentionFilterSet
    pagination_class = SyncCursorPagination
    cursor_field = "received_at"
    required_scopes = {"GET": Scope.MENTIONS_READ}

    @extend_schema(operation_id="mentions_list", responses={200: MentionOutSerializer(many=True), **errors(400)})
    def get(self, request):
        mentions = self.filter_queryset(s.lean_list(self.queryset, s.MENTION_FIELDS, s.MENTION_TIMES))
        return self.get_paginated_response(s.mention_rows(self.paginate_queryset(mentions)))


class MentionCollectionView(MentionListView, MentionCreateView):
    """GET lists mentions (`mentions:read`); POST stores one or a list (`mentions:write`, or for a user's
    token the `feedback.add_mention` permission, as before scopes existed): MentionCreateView's POST."""

    required_scopes = {"GET": Scope.MENTIONS_READ, "POST": Scope.MENTIONS_WRITE}
    user_permissions = {"POST": "feedback.add_mention"}


class MentionDetailView(CrmView):
    queryset = Mention.objects.all()
    serializer_class = MentionOutSerializer
    required_scopes = {"GET": Scope.MENTIONS_READ}

    @extend_schema(operation_id="mentions_retrieve", responses={200: MentionOutSerializer, **errors(404)})
    def get(self, request, pk):
        return Response(MentionOutSerializer(generics.get_object_or_404(Mention, pk=object_id(pk))).data)


# --- Webhook subscriptions ----------------------------------------------------------------------------------

class SubscriptionListView(CrmView):
    queryset = WebhookSubscription.objects.all()
    required_scopes = {"GET": Scope.WEBHOOKS_MANAGE, "POST": Scope.WEBHOOKS_MANAGE}
    serializer_class = s.WebhookSubscriptionSerializer

    @extend_schema(operation_id="webhooks_list", responses={200: s.WebhookSubscriptionSerializer(many=True),
                                                              **errors()})
    def get(self, request):
        return Response(s.WebhookSubscriptionSerializer(WebhookSubscription.objects.order_by("id")[:500],
                                                        many=True).data)

    @extend_schema(operation_id="webhooks_create", request=s.WebhookSubscriptionIn,
                   responses={201: s.WebhookSubscriptionCreatedSerializer, **errors(400)})
    def post(self, request):
        data = s.WebhookSubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        by, via = _requester(request)
        subscription, secret = webhooks.create_subscription(
            name=data.validated_data["name"], url=data.validated_data["url"],
            event_types=data.validated_data["event_types"], by=by, via=via)
        if not data.validated_data["is_active"]:
            webhooks.update_subscription(subscription=subscription, changes={"is_active": False}, by=by, via=via)
        body = {**s.WebhookSubscriptionSerializer(subscription).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(CrmView):
    queryset = WebhookSubscription.objects.all()
    required_scopes = {"GET": Scope.WEBHOOKS_MANAGE, "PATCH": Scope.WEBHOOKS_MANAGE,
                       "DELETE": Scope.WEBHOOKS_MANAGE}
    serializer_class = s.WebhookSubscriptionSerializer

    def _subscription(self, pk):
        return generics.get_object_or_404(WebhookSubscription, pk=object_id(pk))

    @extend_schema(operation_id="webhooks_retrieve", responses={200: s.WebhookSubscriptionSerializer, **errors(404)})
    def get(self, request, pk):
        return Response(s.WebhookSubscriptionSerializer(self._subscription(pk)).data)

    @extend_schema(operation_id="webhooks_partial_update", request=s.WebhookSubscriptionPatch,
                   responses={200: s.WebhookSubscriptionSerializer, **errors(400, 404)})
    def patch(self, request, pk):
        subscription = self._subscription(pk)
        data = s.WebhookSubscriptionPatch(data=request.data)
        data.is_valid(raise_exception=True)
        by, via = _requester(request)
        subscription = webhooks.update_subscription(subscription=subscription, changes=data.validated_data, by=by,
                                                    via=via)
        return Response(s.WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(operation_id="webhooks_destroy", responses={204: None, **errors(404)})
    def delete(self, request, pk):
        by, via = _requester(request)
        webhooks.delete_subscription(subscription=self._subscription(pk), by=by, via=via)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(CrmView):
    """A subscription's deliveries, newest first (the last 100)."""

    queryset = WebhookDelivery.objects.all()
    required_scopes = {"GET": Scope.WEBHOOKS_MANAGE}
    serializer_class = s.WebhookDeliverySerializer

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values, required=False)],
        responses={200: s.WebhookDeliverySerializer(many=True), **errors(400, 404)},
    )
    def get(self, request, pk):
        subscription = generics.get_object_or_404(WebhookSubscription, pk=object_id(pk))
        deliveries = WebhookDelivery.objects.filter(subscription=subscription).select_related("payload")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in DeliveryStatus.values:
                raise exceptions.ValidationError({"status": [f"One of {', '.join(DeliveryStatus.values)}."]})
            deliveries = deliveries.filter(status=wanted)
        return Response(s.WebhookDeliverySerializer(deliveries.order_by("-id")[:100], many=True).data)


class RedeliverView(CrmView):
    queryset = WebhookDelivery.objects.all()
    required_scopes = {"POST": Scope.WEBHOOKS_MANAGE}
    serializer_class = s.WebhookDeliverySerializer

    @extend_schema(operation_id="webhooks_deliveries_redeliver", request=None,
                   responses={202: s.WebhookDeliverySerializer, **errors(404)})
    def post(self, request, pk):
        delivery = generics.get_object_or_404(WebhookDelivery, pk=object_id(pk))
        delivery = webhooks.redeliver(delivery_id=delivery.pk)
        return Response(s.WebhookDeliverySerializer(
            WebhookDelivery.objects.select_related("payload").get(pk=delivery.pk)).data,
            status=status.HTTP_202_ACCEPTED)
