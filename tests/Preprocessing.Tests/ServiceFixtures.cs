using System.Globalization;
using MlPlatform.OnnxWriter;
using MlPlatform.TestSupport;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>The inference service on the repository's own models/ and the preprocessing service reading configs from it.</summary>
public sealed class BundledServicesFixture : IAsyncLifetime
{
    public ServiceProcess Inference { get; private set; } = null!;

    public ServiceProcess Preprocessing { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Inference = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference");
        Preprocessing = await ServiceProcess.StartAsync("Services/Preprocessing", "MlPlatform.Preprocessing", new Dictionary<string, string?>
        {
            ["services__inference__http__0"] = Inference.BaseAddress.ToString(),
        });
    }

    public async Task DisposeAsync()
    {
        if (Preprocessing is not null)
        {
            await Preprocessing.DisposeAsync();
        }

        if (Inference is not null)
        {
            await Inference.DisposeAsync();
        }
    }
}

/// <summary>
/// Generated models with preprocess sections the bundled model does not use (RGB, mean and std per
/// channel, NHWC, an ImageNet classifier's resize and centre crop in RGB and BGR, no batching, no section,
/// a broken section), and a preprocessing service with small limits.
/// </summary>
public sealed class GeneratedModelsFixture : IAsyncLifetime
{
    public const long BodyLimit = 256 * 1024;
    public const long PixelLimit = 1_000_000;

    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    public string Repository { get; } = Directory.CreateTempSubdirectory("mlplatform-preprocess-models-").FullName;

    public ServiceProcess Inference { get; private set; } = null!;

    public ServiceProcess Preprocessing { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        AddModel("rgb", Identity("rgb", -1, 3, 224, 224), new
        {
            name = "rgb",
            max_batch_size = 4,
            preprocess = new
            {
                input = "x",
                layout = "NCHW",
                width = 224,
                height = 224,
                channels = 3,
                steps = new object[]
                {
                    new { op = "decode" },
                    new { op = "resize", width = 224, height = 224 },
                    new { op = "normalize", scale = 1 / 255.0, mean = ImageNetMean, std = ImageNetStd },
                },
            },
        });

        // torchvision's ImageNet evaluation transform: Resize(256), CenterCrop(224), ToTensor, Normalize; in RGB planes and in BGR pixels.
        foreach (var (name, layout, channelOrder, shape) in new[] { ("imagenet", "NCHW", "RGB", new long[] { -1, 3, 224, 224 }), ("imagenet_bgr", "NHWC", "BGR", [-1, 224, 224, 3]) })
        {
            AddModel(name, Identity(name, shape), new
            {
                name,
                max_batch_size = 4,
                preprocess = new
                {
                    input = "x",
                    datatype = "FP32",
                    layout,
                    width = 224,
                    height = 224,
                    channels = 3,
                    channel_order = channelOrder,
                    steps = new object[]
                    {
                        new { op = "decode" },
                        new { op = "resize_shorter", size = 256 },
                        new { op = "center_crop", width = 224, height = 224 },
                        new { op = "normalize", scale = 1 / 255.0, mean = ImageNetMean, std = ImageNetStd },
                    },
                },
            });
        }

        // Fixed batch of one, as many exported vision models are; not square, so a swapped width and height shows.
        AddModel("wide", Identity("wide", 1, 16, 48, 3), new
        {
            name = "wide",
            max_batch_size = 0,
            preprocess = new
            {
                input = "x",
                layout = "NHWC",
                width = 48,
                height = 16,
                channels = 3,
                steps = new object[]
                {
                    new { op = "decode", min_side = 16 },
                    new { op = "resize", width = 48, height = 16, mode = "contain", fill = 0 },
                },
            },
        });

        AddModel("raw", Identity("raw", -1, 2), new { name = "raw", max_batch_size = 8 });

        AddModel("broken", Identity("broken", -1, 1, 28, 28), new
        {
            name = "broken",
            max_batch_size = 8,
            preprocess = new
            {
                input = "x",
                layout = "NCWH",
                width = 28,
                height = 28,
                channels = 1,
                steps = new object[]
                {
                    new { op = "decode" },
                    new { op = "blur", radius = 2 },
                    new { op = "fit", sise = 20 },
                },
            },
        });

        Inference = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>
        {
            ["Inference__ModelRepository"] = Repository,
        });
        Preprocessing = await ServiceProcess.StartAsync("Services/Preprocessing", "MlPlatform.Preprocessing", new Dictionary<string, string?>
        {
            ["services__inference__http__0"] = Inference.BaseAddress.ToString(),
            ["Preprocessing__MaxRequestBodyBytes"] = BodyLimit.ToString(CultureInfo.InvariantCulture),
            ["Preprocessing__MaxImagePixels"] = PixelLimit.ToString(CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        if (Preprocessing is not null)
        {
            await Preprocessing.DisposeAsync();
        }

        if (Inference is not null)
        {
            await Inference.DisposeAsync();
        }

        Directory.Delete(Repository, recursive: true);
    }

    private static OnnxGraphBuilder Identity(string name, params long[] shape) => new OnnxGraphBuilder(name)
        .Input("x", OnnxElementType.Float, shape)
        .Output("y", OnnxElementType.Float, shape)
        .Node("Identity", ["x"], ["y"]);

    private void AddModel(string name, OnnxGraphBuilder graph, object config)
    {
        var directory = Path.Combine(Repository, name);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), System.Text.Json.JsonSerializer.Serialize(config));
        graph.Save(Path.Combine(directory, "1", "model.onnx"));
    }
}
