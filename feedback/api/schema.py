"""What the OpenAPI schema says beyond drf-spectacular's defaults: each operation's scope in its description,
and the limits of list bodies (minItems, maxItems), which spectacular leaves out (a postprocessing hook)."""

from drf_spectacular.openapi import AutoSchema


class ScopedAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        scope = getattr(self.view, "required_scopes", {}).get(self.method)
        if operation is not None and scope:
            description = operation.get("description", "")
            operation["description"] = f"{description}\n\nIntegration token scope: `{scope}`.".strip()
        return operation


# operationId -> (minItems, maxItems) of its JSON list body (spectacular writes list bodies without limits).
LIST_BODY_LIMITS: dict[str, tuple[int, int]] = {}


def bound_list_body(operation_id: str, *, min_items: int, max_items: int) -> str:
    LIST_BODY_LIMITS[operation_id] = (min_items, max_items)
    return operation_id


def add_list_limits(result, generator, request, public):
    """A postprocessing hook (SPECTACULAR_SETTINGS): minItems and maxItems on the list bodies named above."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            limits = LIST_BODY_LIMITS.get(operation.get("operationId")) if isinstance(operation, dict) else None
            if not limits:
                continue
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema and schema.get("type") == "array":
                schema["minItems"], schema["maxItems"] = limits
    return result
