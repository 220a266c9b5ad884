"""Outbound webhooks: Baton tells a CRM what happened (customers/webhooks/README in the root README's
"Outbound webhooks" section). Models: `WebhookSubscription` (a URL, its secret, the event types it
wants), `WebhookPayload` (one event, its exact JSON body), `WebhookDelivery` (one payload to one
subscription; its id is the `X-Baton-Delivery` header, kept across retries) and `WebhookAttempt` (one
HTTP try). `services.emit_event` writes them; `delivery.deliver_due` sends them (the Celery task
`customers.tasks.deliver_webhooks` calls it)."""
