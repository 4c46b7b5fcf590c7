namespace MlPlatform.Gateway.Routes;

/// <summary>The services behind the gateway, by the names service discovery knows them by; each is a YARP cluster.</summary>
public static class BackendServices
{
    public const string Preprocessing = "preprocessing";
    public const string Inference = "inference";
    public const string Postprocessing = "postprocessing";

    public static readonly IReadOnlyList<string> All = [Preprocessing, Inference, Postprocessing];
}
