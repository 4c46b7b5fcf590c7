namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>One colour per service, the same on every page, so a service is recognisable at a glance.</summary>
public static class ServicePalette
{
    private static readonly string[] Colours =
    [
        "#0f6cbd", "#c239b3", "#e3008c", "#ca5010", "#498205", "#038387", "#8764b8", "#986f0b", "#4f6bed", "#d13438",
    ];

    /// <summary>The bundled services get fixed colours; anything else one derived from its name.</summary>
    public static string For(string service) => service switch
    {
        "gateway" => "#8764b8",
        "preprocessing" => "#0f6cbd",
        "inference" => "#ca5010",
        "postprocessing" => "#498205",
        _ => Colours[StableHash(service) % Colours.Length],
    };

    /// <summary>The colour of the n-th line of a chart.</summary>
    public static string Series(int index) => Colours[index % Colours.Length];

    // string.GetHashCode changes between processes; a colour should not.
    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash & int.MaxValue;
    }
}
