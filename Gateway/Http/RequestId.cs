namespace MlPlatform.Gateway.Http;

/// <summary>
/// <c>X-Request-Id</c>: the client's own when it sent a sensible one, a new one otherwise; forwarded to
/// every service and echoed on every response, so one id finds a request in every log.
/// </summary>
public static class RequestId
{
    public const string HeaderName = "X-Request-Id";

    // Long enough for any id scheme in use (GUIDs, ULIDs, W3C trace ids), short enough to log.
    private const int MaxLength = 128;

    /// <summary>The request's id; set on every request before anything else runs.</summary>
    public static string Of(HttpContext context) => context.Request.Headers[HeaderName].ToString();

    public static bool IsAcceptable(string value)
    {
        if (value.Length is 0 or > MaxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            // Visible ASCII only: anything else could forge log lines or break a header on the way on.
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        var id = headers[RequestId.HeaderName] is { Count: 1 } values && RequestId.IsAcceptable(values[0]!) ? values[0]! : Guid.NewGuid().ToString();
        headers[RequestId.HeaderName] = id;
        System.Diagnostics.Activity.Current?.SetTag("http.request.header.x_request_id", id);

        // On starting, not now: error handlers and the proxy clear or replace the response headers.
        context.Response.OnStarting(static state =>
        {
            var httpContext = (HttpContext)state;
            httpContext.Response.Headers[RequestId.HeaderName] = RequestId.Of(httpContext);
            return Task.CompletedTask;
        }, context);

        return next(context);
    }
}

/// <summary>Puts <see cref="RequestIdMiddleware"/> first, ahead of every middleware and endpoint Program.cs adds.</summary>
internal sealed class RequestIdStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<RequestIdMiddleware>();
        next(app);
    };
}
