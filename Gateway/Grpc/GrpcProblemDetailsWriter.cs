using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;
using Yarp.ReverseProxy.Forwarder;

namespace MlPlatform.Gateway.Grpc;

/// <summary>
/// On the gRPC port, every answer the gateway gives as problem details is a gRPC status instead: a path it does not
/// serve (UNIMPLEMENTED), an unreachable inference (UNAVAILABLE), a timeout (DEADLINE_EXCEEDED), a body over its limit
/// or counters out of reach, an unhandled exception (INTERNAL, never its stack trace). They all come here: the status
/// code pages of bare error statuses (routing's 404, YARP's 502 and 504), the gateway's own problems and the exception
/// handler write through <see cref="IProblemDetailsService"/>, which asks this writer first.
/// </summary>
internal sealed class GrpcProblemDetailsWriter(IOptions<GrpcOptions> options) : IProblemDetailsWriter
{
    // Long enough for any method name of the service, short enough that a client's header limit takes the message.
    private const int MaxPathInMessage = 256;

    public bool CanWrite(ProblemDetailsContext context) =>
        options.Value.GrpcPort is { } port && context.HttpContext.Connection.LocalPort == port;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var status = context.ProblemDetails.Status ?? http.Response.StatusCode;
        var code = CodeOf(status);
        return new ValueTask(GrpcStatus.WriteAsync(http, code, MessageOf(http, status, code, context.ProblemDetails.Detail)));
    }

    private static GrpcStatusCode CodeOf(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => GrpcStatusCode.Unauthenticated,
        StatusCodes.Status403Forbidden => GrpcStatusCode.PermissionDenied,
        StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed => GrpcStatusCode.Unimplemented,
        StatusCodes.Status408RequestTimeout or StatusCodes.Status504GatewayTimeout => GrpcStatusCode.DeadlineExceeded,
        StatusCodes.Status413PayloadTooLarge or StatusCodes.Status429TooManyRequests or StatusCodes.Status431RequestHeaderFieldsTooLarge => GrpcStatusCode.ResourceExhausted,
        StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable => GrpcStatusCode.Unavailable,
        >= 500 => GrpcStatusCode.Internal,
        _ => GrpcStatusCode.InvalidArgument,
    };

    private static string MessageOf(HttpContext context, int status, GrpcStatusCode code, string? detail)
    {
        // The exception is logged; a client gets no more than that it happened.
        if (code == GrpcStatusCode.Internal)
        {
            return "The gateway failed to handle the request.";
        }

        // The gateway's own problems say what happened (a group's timeout names its setting), even when YARP, cancelled
        // by it, has left an error of its own behind.
        if (detail is not null)
        {
            return detail;
        }

        if (context.Features.Get<IForwarderErrorFeature>() is { } error)
        {
            return error.Error switch
            {
                ForwarderError.NoAvailableDestinations => $"{BackendServices.Inference} has no replica available.",
                ForwarderError.RequestTimedOut => $"{BackendServices.Inference} did not answer in time.",
                _ when error.Exception is { } exception => $"{BackendServices.Inference} is unavailable: {TransportFailures.Describe(exception)}.",
                _ => $"{BackendServices.Inference} is unavailable.",
            };
        }

        return code switch
        {
            GrpcStatusCode.Unimplemented => $"The gateway serves no gRPC method {Shortened(context.Request.Path.Value)}; its gRPC port serves {GrpcRoute.Service}.",
            _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
        };
    }

    private static string Shortened(string? path) =>
        path is null ? "/" : path.Length <= MaxPathInMessage ? path : string.Concat(path.AsSpan(0, MaxPathInMessage), "...");
}
