using Microsoft.AspNetCore.Mvc;

namespace MlPlatform.Gateway.Http;

/// <summary>Problem details written from middleware, through the same service endpoints use, so each carries a <c>traceId</c>.</summary>
internal static class GatewayProblems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }

    public static string TooLargeDetail(string routeGroup, long? length, long limit) =>
        length is { } known
            ? $"The request body is {known} bytes; {routeGroup} accepts at most {limit} bytes."
            : $"The request body is larger than the {limit} bytes {routeGroup} accepts.";

    public const string TooLargeTitle = "Request body too large";
}
