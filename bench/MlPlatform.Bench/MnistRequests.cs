using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// Requests for the bundled mnist model made once from held-out digits and handed out in turn: each digit as a
/// 280x280 black-on-white PNG and as KServe V1 instances for predict, and as a V2 binary tensor for direct infer.
/// </summary>
internal sealed class MnistRequests
{
    private readonly byte[][] _pngs;
    private readonly byte[][] _instances;
    private readonly (byte[] Body, string HeaderLength)[] _tensors;
    private int _next;

    public MnistRequests(int digits = 64)
    {
        var held = HoldOutDigits.Load().Take(digits).ToArray();
        _pngs = held.Select(d => DigitImages.BlackOnWhite(d)).ToArray();
        _tensors = held.Select(d => V2Binary.Request("input", [1, 1, 28, 28], d.Pixels)).ToArray();
        _instances = held.Select(d => Encoding.UTF8.GetBytes(
            "{\"instances\":[[" + string.Join(",", d.Pixels.Select(p => p.ToString("0.###", CultureInfo.InvariantCulture))) + "]]}")).ToArray();
    }

    public HttpRequestMessage PredictPng() => Predict(_pngs[Next(_pngs.Length)], "image/png");

    public HttpRequestMessage PredictInstances() => Predict(_instances[Next(_instances.Length)], "application/json");

    public HttpRequestMessage Infer() => V2Binary.Infer("mnist", _tensors[Next(_tensors.Length)]);

    private static HttpRequestMessage Predict(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist:predict") { Content = content };
    }

    private int Next(int count) => (int)((uint)Interlocked.Increment(ref _next) % (uint)count);
}
