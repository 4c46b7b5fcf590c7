using System.Globalization;

namespace MlPlatform.TestSupport;

/// <summary>Series read from a service's <c>/metrics</c>, in the Prometheus text format.</summary>
public static class PrometheusMetrics
{
    /// <summary>
    /// The sum of the series of <paramref name="name"/> that carry every one of <paramref name="labels"/>
    /// (<c>model="mnist"</c>), whatever other labels they have and in whatever order; 0 when none is recorded yet.
    /// </summary>
    public static async Task<double> ReadAsync(HttpClient client, string name, params string[] labels) =>
        Sum(await client.GetStringAsync("/metrics"), name, labels);

    /// <summary>
    /// <see cref="ReadAsync"/> until it gives <paramref name="expected"/>, for at most 5 s: ASP.NET Core records a
    /// request's duration once the request has ended, which may be just after its client has read the response.
    /// </summary>
    /// <returns>The last value read.</returns>
    public static async Task<double> ReadUntilAsync(HttpClient client, double expected, string name, params string[] labels)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            var value = await ReadAsync(client, name, labels);
            if (value == expected || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }

    private static double Sum(string text, string name, string[] labels)
    {
        var sum = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                continue;
            }

            var close = line.LastIndexOf('}');
            // Commas around the label block, so each label matches whole: model="a" is not found in model="ab".
            var block = "," + line[(name.Length + 1)..close] + ",";
            if (labels.All(label => block.Contains("," + label + ",", StringComparison.Ordinal)))
            {
                sum += double.Parse(line[(close + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }
}
