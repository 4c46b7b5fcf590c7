using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Predictions;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.KeyAuth;
using MlPlatform.Gateway.Predict;
using MlPlatform.Gateway.Proxy;
using MlPlatform.Gateway.Routes;
using MlPlatform.Gateway.Timeouts;
using MlPlatform.Gateway.Transforms;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Gateway.Apis;

/// <summary>
/// <c>POST /v1/models/{model}:predict</c>: an image or JSON instances in, predictions people read out,
/// the gateway calling preprocessing, inference and postprocessing in turn.
/// </summary>
public static class PredictApi
{
    private static readonly string[] ImageContentTypes = ["image/png", "image/jpeg", "image/webp", "image/bmp"];

    /// <summary>Maps the predict endpoint; the group it returns takes policies (API keys, rate limits) for it.</summary>
    public static RouteGroupBuilder MapPredictApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/models").WithTags("Predict");

        api.MapPost("/{model}:predict", PredictAsync)
            .WithName("Predict")
            .WithRouteGroup(GatewayRoutes.Predict)
            .WithRouteGroupTimeout(app.ServiceProvider, GatewayRoutes.Predict)
            .WithSummary("Runs a model on an image or on JSON instances and answers its predictions.")
            .WithDescription(
                "The gateway sends the body to preprocessing, its output to inference and inference's output to postprocessing, " +
                "each on a healthy replica, another replica when one fails. A service that rejects the request passes its status " +
                "on, with problem details naming it in `hop`.")
            .AddOpenApiOperationTransformer(DescribeRequestBodyAsync)
            // Postprocessing's answer goes to the client as it came, unparsed: the document learns its shape here.
            .Produces<PredictResponse>(StatusCodes.Status200OK, ProtocolParameters.JsonContentType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        return api;
    }

    internal static async Task<Results<PooledBodyResult, ProblemHttpResult>> PredictAsync(
        string model,
        HttpContext context,
        PredictPipeline pipeline,
        IOptions<BodyLimitOptions> bodyLimits,
        IOptions<ProxyOptions> options,
        IOptions<RouteGroupTransformOptions> transforms,
        GatewayMetrics metrics)
    {
        try
        {
            return await PredictCoreAsync(model, context, pipeline, bodyLimits.Value, options.Value, transforms.Value).ConfigureAwait(false);
        }
        finally
        {
            // http.server.request.duration's model tag, read as the request ends. Set at the end, when inference may
            // have served the model for the first time; a name it never served is tagged unknown, so no client adds series.
            context.TagModel(metrics.ModelTag(model));
        }
    }

    private static async Task<Results<PooledBodyResult, ProblemHttpResult>> PredictCoreAsync(
        string model, HttpContext context, PredictPipeline pipeline, BodyLimitOptions bodyLimits, ProxyOptions options, RouteGroupTransformOptions transforms)
    {
        var request = context.Request;
        var limit = bodyLimits.MaxRequestBodyBytesFor(GatewayRoutes.Predict);
        if (request.ContentLength > limit)
        {
            return TooLarge(request.ContentLength, limit);
        }

        // The reader below enforces the limit with a clean 413; Kestrel's own limit must not cut in first.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit + 1;
        }

        PooledBody? input;
        try
        {
            input = await PooledBody.ReadAsync(request.Body, request.ContentLength, limit, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception)
        {
            return TypedResults.Problem(exception.Message, statusCode: exception.StatusCode, title: "The request body could not be read");
        }

        if (input is null)
        {
            return TooLarge(null, limit);
        }

        PipelineOutcome outcome;
        using (input)
        {
            outcome = await pipeline.RunAsync(context, model, input, ForwardedHeaders(context, transforms)).ConfigureAwait(false);
        }

        var (hop, reply) = outcome;
        using (reply)
        {
            if (reply.Succeeded)
            {
                return PooledBodyResult.Json(reply.TakeBody());
            }

            // A hop the request's own token ended (the client went away, or the route group's timeout passed) has no
            // answer of its own: the cancellation goes on up, for the request timeouts middleware to answer the one
            // and the exception handler the other.
            context.RequestAborted.ThrowIfCancellationRequested();

            if (reply is { Outcome: HopOutcome.Overloaded })
            {
                context.Response.Headers.RetryAfter = reply.RetryAfter ?? "1";
            }

            return HopProblem(hop, reply, options);
        }
    }

    /// <summary>
    /// What every hop receives besides its body, as YARP gives proxied requests: the consumer the key named, the
    /// headers the predict group's request transformation left, and X-Forwarded-For/Proto/Host. Nothing else of
    /// the client's request is copied, so no hop-by-hop header (Connection, Keep-Alive, TE, Upgrade...) goes on.
    /// </summary>
    private static KeyValuePair<string, string>[] ForwardedHeaders(HttpContext context, RouteGroupTransformOptions transforms)
    {
        var request = context.Request;
        var headers = new List<KeyValuePair<string, string>>(8);
        foreach (var name in (ReadOnlySpan<string>)[UpstreamHeaders.ConsumerId, UpstreamHeaders.ConsumerUsername])
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                headers.Add(new(name, value.ToString()));
            }
        }

        if (transforms.For(GatewayRoutes.Predict) is { } transform)
        {
            foreach (var (name, _) in transform.Add)
            {
                AddIfPresent(request, headers, name);
            }

            foreach (var (_, name) in transform.Rename)
            {
                AddIfPresent(request, headers, name);
            }
        }

        var remote = context.Connection.RemoteIpAddress?.ToString();
        var forwardedFor = request.Headers["X-Forwarded-For"].ToString();
        headers.Add(new("X-Forwarded-For", forwardedFor.Length == 0 ? remote ?? "unknown" : $"{forwardedFor}, {remote}"));
        headers.Add(new("X-Forwarded-Proto", request.Scheme));
        headers.Add(new("X-Forwarded-Host", request.Host.Value ?? ""));
        return [.. headers];
    }

    private static void AddIfPresent(HttpRequest request, List<KeyValuePair<string, string>> headers, string name)
    {
        if (request.Headers.TryGetValue(name, out var value))
        {
            headers.Add(new(name, value.ToString()));
        }
    }

    /// <summary>A failed hop as problem details that name it, in the title and in <c>hop</c>.</summary>
    private static ProblemHttpResult HopProblem(string hop, HopReply reply, ProxyOptions options)
    {
        var (status, title, detail) = reply.Outcome switch
        {
            HopOutcome.Rejected => (reply.Status, $"{hop} rejected the request", reply.Detail),
            HopOutcome.Overloaded => (StatusCodes.Status503ServiceUnavailable, $"{hop} is overloaded",
                $"Every {hop} replica tried ({reply.Attempts}) is busy: {reply.Detail}. Retry after the time in Retry-After."),
            HopOutcome.Failed => (StatusCodes.Status502BadGateway, $"{hop} failed",
                $"{hop} failed on every replica tried ({reply.Attempts}); the last answered {reply.Status}: {reply.Detail}."),
            HopOutcome.Unreachable => (StatusCodes.Status502BadGateway, $"{hop} is unreachable",
                $"No {hop} replica could be reached ({reply.Attempts} tried): {reply.Detail}."),
            HopOutcome.TimedOut => (StatusCodes.Status504GatewayTimeout, $"{hop} timed out",
                $"{hop} did not answer within {options.HopTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s."),
            _ => throw new UnreachableException($"A {reply.Outcome} hop has no problem to tell."),
        };

        return TypedResults.Problem(detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["hop"] = hop });
    }

    private static ProblemHttpResult TooLarge(long? length, long limit) =>
        TypedResults.Problem(GatewayProblems.TooLargeDetail(GatewayRoutes.Predict, length, limit), statusCode: StatusCodes.Status413PayloadTooLarge, title: GatewayProblems.TooLargeTitle);

    /// <summary>The body is read by hand, so the document learns its forms here: an image, or JSON instances.</summary>
    private static async Task DescribeRequestBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var instances = await context.GetOrCreateSchemaAsync(typeof(PredictInstancesRequest), null, cancellationToken).ConfigureAwait(false);
        var content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
        foreach (var contentType in ImageContentTypes)
        {
            content[contentType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
        }

        content["application/json"] = new OpenApiMediaType { Schema = instances };
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "An image (PNG, JPEG, WebP or BMP) of one instance, or JSON instances in the form the model's preprocessing takes.",
            Content = content,
        };
    }
}
