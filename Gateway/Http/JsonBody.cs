namespace MlPlatform.Gateway.Http;

/// <summary>A JSON body made once, written from middleware as Kong writes its plugins' refusals.</summary>
internal static class JsonBody
{
    public static async Task WriteAsync(HttpContext context, int status, byte[] utf8Json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = utf8Json.Length;
        await context.Response.Body.WriteAsync(utf8Json, context.RequestAborted).ConfigureAwait(false);
    }
}
