using System.Net.Sockets;

namespace MlPlatform.Gateway.Http;

/// <summary>Reads what an HttpClient exception says about how far a request got.</summary>
internal static class TransportFailures
{
    /// <summary>Whether the connection was never made (refused, unreachable, timed out), so nothing of the request was sent.</summary>
    public static bool IsConnectFailure(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }:
                    return true;
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound }:
                    return true;
                // SocketsHttpHandler.ConnectTimeout surfaces as a cancellation wrapping a TimeoutException.
                case OperationCanceledException { InnerException: TimeoutException }:
                    return true;
            }
        }

        return false;
    }

    /// <summary>A short reason for logs and metrics, without addresses.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        _ when IsConnectFailure(exception) => "the connection could not be made",
        HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } => "the connection closed before the response ended",
        HttpRequestException or IOException => "the connection failed",
        OperationCanceledException => "the connection timed out",
        _ => "the request failed",
    };

    /// <summary>What the innermost exception says, such as "Connection refused (127.0.0.1:5001)": the cause, for logs.</summary>
    public static string RootCause(Exception exception)
    {
        var current = exception;
        while (current.InnerException is not null)
        {
            current = current.InnerException;
        }

        return current.Message;
    }
}
