from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("feedback.api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script from ?script instead of inline (the CSP forbids inline scripts).
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("hooks/", include("feedback.intake.webhooks.urls")),
    path("", include("feedback.urls")),
]

handler404 = "config.views.page_not_found"  # JSON under /api/, the HTML page elsewhere
handler500 = "config.views.server_error"  # JSON for the API and webhooks, the HTML page elsewhere
