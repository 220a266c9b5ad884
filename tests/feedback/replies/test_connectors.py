"""The X and Meta connectors against a local fake platform (a real HTTP server): the request each
sends is the documented one, and each answer is read the documented way."""

import pytest
from django.test import override_settings

from feedback.replies.connectors import MetaConnector, Outgoing, SendFailed, XConnector


def outgoing(**overrides) -> Outgoing:
    values = {"reply_id": 1, "case_id": 2, "text": "Sorry Dana, we are on it.", "kind": "public", "source": "x",
              "in_reply_to": "1460323737035677698", "to_handle": "dana", "token": "user-token-123", "page_id": ""}
    return Outgoing(**{**values, **overrides})


@pytest.fixture
def x_api(platform):
    with override_settings(BATON_X_API_URL=platform.url):
        yield platform


@pytest.fixture
def graph(platform):
    with override_settings(BATON_META_GRAPH_URL=f"{platform.url}/v21.0"):
        yield platform


class TestX:
    def test_creates_a_post_replying_to_the_mention(self, x_api):
        x_api.answer((201, {"data": {"id": "1445880548472328192", "text": "Sorry Dana, we are on it."}}))
        delivered = XConnector().send(outgoing())
        assert delivered.platform_id == "1445880548472328192"
        assert delivered.url == "https://x.com/i/web/status/1445880548472328192"
        [request] = x_api.requests
        assert (request.method, request.path) == ("POST", "/2/tweets")
        assert request.headers["authorization"] == "Bearer user-token-123"
        assert request.headers["content-type"] == "application/json"
        assert request.json() == {"text": "Sorry Dana, we are on it.",
                                  "reply": {"in_reply_to_tweet_id": "1460323737035677698"}}

    def test_rate_limited_and_server_errors_are_retried(self, x_api):
        x_api.answer((429, {"title": "Too Many Requests", "detail": "Too Many Requests"}))
        with pytest.raises(SendFailed) as error:
            XConnector().send(outgoing())
        assert error.value.retry and "429" in error.value.message
        x_api.answer((503, {"title": "Service Unavailable"}))
        with pytest.raises(SendFailed) as error:
            XConnector().send(outgoing())
        assert error.value.retry

    def test_a_refused_post_is_not_retried_and_the_token_never_shows(self, x_api):
        x_api.answer((403, {"title": "Forbidden", "detail": "You are not allowed to reply to this post."}))
        with pytest.raises(SendFailed) as error:
            XConnector().send(outgoing())
        assert not error.value.retry
        assert error.value.message == "X answered 403: You are not allowed to reply to this post."
        assert "user-token-123" not in error.value.message

    def test_an_unreachable_platform_is_retried(self, x_api):
        with override_settings(BATON_X_API_URL="http://127.0.0.1:9"), pytest.raises(SendFailed) as error:
            XConnector().send(outgoing())  # nothing listens on the discard port: connection refused
        assert error.value.retry

    def test_private_messages_are_refused(self, x_api):
        with pytest.raises(SendFailed) as error:
            XConnector().send(outgoing(kind="private"))
        assert not error.value.retry and x_api.requests == []


class TestMeta:
    def test_replies_to_a_facebook_comment(self, graph):
        graph.answer((200, {"id": "1234567890_998877"}))
        delivered = MetaConnector().send(outgoing(source="facebook", in_reply_to="1234567890_555"))
        assert delivered.platform_id == "1234567890_998877"
        [request] = graph.requests
        assert request.path == "/v21.0/1234567890_555/comments"
        assert request.query == {"access_token": "user-token-123"}
        assert request.form() == {"message": "Sorry Dana, we are on it."}

    def test_replies_to_an_instagram_comment_on_its_replies_edge(self, graph):
        graph.answer((200, {"id": "17900000000000001"}))
        MetaConnector().send(outgoing(source="instagram", in_reply_to="17858893269000001"))
        assert graph.requests[0].path == "/v21.0/17858893269000001/replies"

    def test_a_private_reply_goes_to_the_pages_messages_with_the_comment_id(self, graph):
        graph.answer((200, {"recipient_id": "1254459154682919", "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}))
        delivered = MetaConnector().send(outgoing(source="facebook", kind="private", in_reply_to="1234567890_555",
                                                  page_id="104512345678901"))
        assert delivered.platform_id == "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"
        [request] = graph.requests
        assert request.path == "/v21.0/104512345678901/messages"
        assert request.query == {"access_token": "user-token-123"}
        assert request.json() == {"recipient": {"comment_id": "1234567890_555"},
                                  "message": {"text": "Sorry Dana, we are on it."}}

    def test_transient_errors_are_retried_and_the_rest_are_not(self, graph):
        graph.answer((400, {"error": {"message": "(#613) Calls to this api have exceeded the rate limit.",
                                      "type": "OAuthException", "code": 613}}))
        with pytest.raises(SendFailed) as error:
            MetaConnector().send(outgoing(source="facebook"))
        assert error.value.retry
        graph.answer((400, {"error": {"message": "(#10900) Activity already replied to", "type": "OAuthException",
                                      "code": 10900}}))
        with pytest.raises(SendFailed) as error:
            MetaConnector().send(outgoing(source="facebook"))
        assert not error.value.retry
        assert error.value.message == "Meta answered 400: (#10900) Activity already replied to"


class TestFindSent:
    """Before posting again after a worker died mid-send, each connector asks the platform whether the earlier
    attempt posted the reply (the documented read endpoints), and finds it only among the brand's own replies to
    that post with the reply's words."""

    def test_x_reads_the_accounts_posts_since_the_post_answered(self, x_api):
        x_api.answer_get((200, {"data": [
            {"id": "1500000000000000001", "text": "@dana Thanks!", "referenced_tweets": [
                {"type": "replied_to", "id": "1460323737035677698"}]},
            {"id": "1500000000000000002", "text": "Sorry Dana, we are on it.", "referenced_tweets": [
                {"type": "quoted", "id": "1460323737035677698"}]},
            {"id": "1500000000000000003", "text": "@dana Sorry Dana,  we are on it.", "referenced_tweets": [
                {"type": "replied_to", "id": "1460323737035677698"}]},
        ], "meta": {"result_count": 3}}))
        found = XConnector().find_sent(outgoing(page_id="42"))
        assert found.platform_id == "1500000000000000003"
        assert found.url == "https://x.com/i/web/status/1500000000000000003"
        [request] = x_api.requests
        assert (request.method, request.path) == ("GET", "/2/users/42/tweets")
        assert request.query == {"since_id": "1460323737035677698", "max_results": "100",
                                 "tweet.fields": "referenced_tweets"}
        assert request.headers["authorization"] == "Bearer user-token-123"

    def test_x_links_shortened_by_x_still_match_and_nothing_found_is_none(self, x_api):
        x_api.answer_get((200, {"data": [{"id": "7", "text": "@dana Our policy: https://t.co/abc123",
                                          "referenced_tweets": [{"type": "replied_to", "id": "1460323737035677698"}]}]}))
        assert XConnector().find_sent(outgoing(page_id="42", text="Our policy: https://airline.example/bags"))
        x_api.answer_get((200, {"meta": {"result_count": 0}}))  # X leaves "data" out when there is none
        assert XConnector().find_sent(outgoing(page_id="42")) is None

    def test_x_without_the_accounts_id_or_with_a_refused_read_fails(self, x_api):
        with pytest.raises(SendFailed) as error:
            XConnector().find_sent(outgoing(page_id=""))
        assert not error.value.retry and x_api.requests == []
        x_api.answer_get((503, {"title": "Service Unavailable"}))
        with pytest.raises(SendFailed) as error:
            XConnector().find_sent(outgoing(page_id="42"))
        assert error.value.retry and "503" in error.value.message
        x_api.answer_get((401, {"title": "Unauthorized"}))
        with pytest.raises(SendFailed) as error:
            XConnector().find_sent(outgoing(page_id="42"))
        assert not error.value.retry and "user-token-123" not in error.value.message

    def test_meta_reads_the_comments_replies_from_the_page(self, graph):
        graph.answer_get((200, {"data": [
            {"id": "555_1", "message": "Sorry Dana, we are on it.", "from": {"id": "999", "name": "A fan"}},
            {"id": "555_2", "message": "Sorry Dana, we are on it.", "from": {"id": "104512345678901", "name": "Air"}},
        ]}))
        found = MetaConnector().find_sent(outgoing(source="facebook", in_reply_to="1234567890_555",
                                                   page_id="104512345678901"))
        assert found.platform_id == "555_2"
        [request] = graph.requests
        assert (request.method, request.path) == ("GET", "/v21.0/1234567890_555/comments")
        assert request.query == {"access_token": "user-token-123", "fields": "id,message,from", "limit": "100",
                                 "order": "reverse_chronological"}

    def test_meta_instagram_replies_edge_and_private_replies_are_not_looked_up(self, graph):
        graph.answer_get((200, {"data": [{"id": "179", "text": "Sorry Dana, we are on it.",
                                          "from": {"id": "178414", "username": "airline"}}]}))
        found = MetaConnector().find_sent(outgoing(source="instagram", in_reply_to="17858893269000001",
                                                   page_id="178414"))
        assert found.platform_id == "179"
        assert graph.requests[0].path == "/v21.0/17858893269000001/replies"
        assert graph.requests[0].query["fields"] == "id,text,from"
        # Meta takes one private reply per comment: nothing to look up, a second is refused by Meta itself.
        assert MetaConnector().find_sent(outgoing(source="facebook", kind="private", page_id="1")) is None
        assert len(graph.requests) == 1
