namespace MlPlatform.Gateway.Server;

/// <summary>
/// How the gateway schedules its socket work. A predict is four HTTP exchanges through the gateway (the
/// client's and one per hop), and by default every completed read or write is handed from the socket's
/// event thread to a thread-pool thread, which must be woken for it. The gateway only moves bytes and
/// awaits (no blocking call, no heavy computation), so it runs that work on the event thread itself:
/// profiling the predict benchmark showed a fifth less gateway CPU per predict, most of it thread wake-ups.
/// </summary>
/// <remarks>
/// Kestrel's side is <c>SocketTransportOptions.UnsafePreferInlineScheduling</c>; the runtime's side, which
/// also covers the gateway's own HttpClients, is only an environment variable, read when the first socket
/// is used. A service that blocks or computes per request must not do this: it would stall every other
/// connection on its event thread.
/// </remarks>
internal static class GatewayIo
{
    private const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether the runtime runs socket completions inline, as Kestrel's inline scheduling needs to be worth it.</summary>
    public static bool InlineSocketCompletions => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";

    /// <summary>Asks the runtime for inline socket completions unless the environment already says either way.</summary>
    public static void PreferInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }
}
