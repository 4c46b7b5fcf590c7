using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Preprocessing.Config;

/// <summary>
/// The <c>preprocess</c> section of a model's <c>config.json</c>: how the preprocessing service turns
/// an image into the model's input tensor. The steps run in order on a floating-point image whose
/// values are 0..255 per channel, so a model needs a new config, never new code.
/// </summary>
/// <remarks>
/// Read it with <see cref="TryParse"/>, which reports every problem at once, each naming its field
/// (<c>preprocess.steps[4].size</c>). The inference service serves the section back unchanged.
/// </remarks>
public sealed class PreprocessConfig
{
    /// <summary>The largest width, height or box side a config may ask for.</summary>
    public const int MaxDimension = 8192;

    /// <summary>The model input the tensor is sent as.</summary>
    [JsonPropertyName("input")]
    public string Input { get; set; } = "";

    /// <summary>The tensor's datatype; <c>FP32</c> is the only one produced.</summary>
    [JsonPropertyName("datatype")]
    public string DataType { get; set; } = "FP32";

    /// <summary><c>NCHW</c>, <c>NHWC</c> (with a batch dimension) or <c>CHW</c>, <c>HWC</c> (without).</summary>
    [JsonPropertyName("layout")]
    public string Layout { get; set; } = "NCHW";

    [JsonPropertyName("width")]
    public int Width { get; set; }

    [JsonPropertyName("height")]
    public int Height { get; set; }

    /// <summary>1 (grey) or 3 (colour).</summary>
    [JsonPropertyName("channels")]
    public int Channels { get; set; }

    /// <summary>
    /// The order of the tensor's 3 channels, <see cref="Rgb"/> (when absent) or <see cref="Bgr"/>; normalize's
    /// per-channel mean and std are in this order. Only with 3 channels.
    /// </summary>
    [JsonPropertyName("channel_order")]
    public string? ChannelOrder { get; set; }

    public const string Rgb = "RGB";
    public const string Bgr = "BGR";

    /// <summary>Whether the tensor's channels are blue, green, red, as models trained with OpenCV's decoder expect.</summary>
    [JsonIgnore]
    public bool IsBgr => ChannelOrder == Bgr;

    [JsonPropertyName("steps")]
    public List<PreprocessStep> Steps { get; set; } = [];

    [JsonIgnore]
    public TensorLayout TensorLayout => TensorLayouts.TryParse(Layout, out var layout) ? layout : TensorLayout.Nchw;

    /// <summary>The shape of one instance, without the batch dimension, in <see cref="TensorLayout"/> order.</summary>
    [JsonIgnore]
    public long[] InstanceShape => TensorLayout.IsChannelsFirst()
        ? [Channels, Height, Width]
        : [Height, Width, Channels];

    /// <summary>Reads and checks a <c>preprocess</c> section.</summary>
    /// <param name="section">The section as <see cref="ModelConfig.Preprocess"/> holds it.</param>
    /// <param name="maxBatchSize">The model's <c>max_batch_size</c>, which the layout must agree with.</param>
    /// <param name="config">The section, when it has no problem.</param>
    /// <param name="problems">Every problem found, each starting with the field at fault.</param>
    public static bool TryParse(JsonElement section, int maxBatchSize, [NotNullWhen(true)] out PreprocessConfig? config, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        config = null;
        problems = found;
        if (section.ValueKind != JsonValueKind.Object)
        {
            found.Add("preprocess: must be an object with input, layout, width, height, channels and steps");
            return false;
        }

        CheckFields(section, PreprocessJsonContext.Default.PreprocessConfig, "preprocess", found);
        var topLevelReadable = found.Count == 0;

        // Each step is read on its own, so one unreadable step does not hide the problems of the others.
        var steps = new List<PreprocessStep>();
        var stepsReadable = true;
        if (section.TryGetProperty("steps", out var stepArray) && stepArray.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var element in stepArray.EnumerateArray())
            {
                var step = ReadStep(element, $"preprocess.steps[{index}]", found);
                stepsReadable &= step is not null;
                if (step is not null)
                {
                    steps.Add(step);
                }

                index++;
            }
        }

        if (!topLevelReadable)
        {
            return false;
        }

        config = Read(WithoutSteps(section), PreprocessJsonContext.Default.PreprocessConfig, "preprocess", found);
        if (config is null)
        {
            return false;
        }

        config.Steps = steps;
        config.Validate(maxBatchSize, stepsReadable, found);
        if (found.Count > 0)
        {
            config = null;
            return false;
        }

        return true;
    }

    private void Validate(int maxBatchSize, bool stepsReadable, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(Input))
        {
            problems.Add("preprocess.input: is missing; name the model input the tensor is for");
        }

        if (DataType != "FP32")
        {
            problems.Add($"preprocess.datatype: is '{DataType}'; only FP32 is produced");
        }

        if (!TensorLayouts.TryParse(Layout, out var layout))
        {
            problems.Add($"preprocess.layout: is '{Layout}'; it must be one of {TensorLayouts.AllNames}");
        }
        else if (maxBatchSize > 0 && !layout.HasBatch())
        {
            problems.Add($"preprocess.layout: '{Layout}' has no batch dimension, but max_batch_size is {maxBatchSize}; use N{Layout}");
        }

        CheckDimension(Width, "preprocess.width", problems);
        CheckDimension(Height, "preprocess.height", problems);
        if (Channels is not (1 or 3))
        {
            problems.Add($"preprocess.channels: is {Channels}; it must be 1 (grey) or 3 (colour)");
        }

        if (ChannelOrder is { } order)
        {
            if (order is not (Rgb or Bgr))
            {
                problems.Add($"preprocess.channel_order: is '{order}'; it must be {Rgb} or {Bgr}");
            }
            else if (Channels != 3)
            {
                problems.Add($"preprocess.channel_order: is '{order}', but channels is {Channels}; a channel order needs 3 channels");
            }
        }

        if (!stepsReadable)
        {
            // The sequence cannot be followed with a step missing; the steps that were read are still checked.
            foreach (var (step, i) in Steps.Select((step, i) => (step, i)))
            {
                step.Validate($"preprocess.steps[{i}]", step is NormalizeStep ? Math.Max(1, Channels) : 3, problems);
            }

            return;
        }

        if (Steps.Count == 0)
        {
            problems.Add("preprocess.steps: is missing or empty; the first step must be decode");
            return;
        }

        // Follows the image through the steps, so a config that cannot produce the tensor fails here, not per request.
        var channels = 3;
        int? width = null;
        int? height = null;
        for (var i = 0; i < Steps.Count; i++)
        {
            var path = $"preprocess.steps[{i}]";
            var step = Steps[i];
            if (step is DecodeStep != (i == 0))
            {
                problems.Add(i == 0
                    ? $"{path}.op: is '{step.Op}'; the first step must be decode"
                    : $"{path}.op: decode may only be the first step");
            }

            if (step is NormalizeStep && i != Steps.Count - 1)
            {
                problems.Add($"{path}.op: normalize must be the last step");
            }

            step.Validate(path, channels, problems);
            switch (step)
            {
                case GrayscaleStep:
                    channels = 1;
                    break;
                case CropToInkStep or FitStep:
                    (width, height) = (null, null);
                    break;
                case CenterOfMassStep frame:
                    (width, height) = (frame.Width, frame.Height);
                    break;
                case ResizeStep resize:
                    (width, height) = (resize.Width, resize.Height);
                    break;
                case ResizeShorterStep shorter:
                    (width, height) = ScaledShorter(width, height, shorter.Size);
                    break;
                case CenterCropStep crop:
                    (width, height) = (crop.Width, crop.Height);
                    break;
            }
        }

        if (width is null || height is null)
        {
            problems.Add($"preprocess.steps: the image's size after the last step depends on the input; end with resize, center_crop or center_of_mass of {Width}x{Height}");
        }
        else if (width != Width || height != Height)
        {
            problems.Add($"preprocess.steps: the steps make a {width}x{height} image, but width and height are {Width}x{Height}");
        }

        if (Channels is 1 or 3 && channels != Channels)
        {
            problems.Add(channels == 3
                ? $"preprocess.steps: the steps keep 3 channels (RGB), but channels is {Channels}; add a grayscale step"
                : $"preprocess.steps: the steps make 1 channel (grayscale), but channels is {Channels}");
        }
    }

    /// <summary>The size after resize_shorter: known when the size before it is, as after a resize.</summary>
    private static (int? Width, int? Height) ScaledShorter(int? width, int? height, int size)
    {
        if (width is not { } knownWidth || height is not { } knownHeight || size < 1)
        {
            return (null, null);
        }

        var (scaledWidth, scaledHeight) = ResizeShorterStep.OutputSize(knownWidth, knownHeight, size);
        return ((int)Math.Min(scaledWidth, int.MaxValue), (int)Math.Min(scaledHeight, int.MaxValue));
    }

    private static PreprocessStep? ReadStep(JsonElement step, string path, List<string> problems)
    {
        var before = problems.Count;
        CheckStep(step, path, problems);
        return problems.Count == before ? Read(step, PreprocessJsonContext.Default.PreprocessStep, path, problems) : null;
    }

    private static T? Read<T>(JsonElement element, JsonTypeInfo<T> typeInfo, string path, List<string> problems) where T : class
    {
        try
        {
            return element.Deserialize(typeInfo);
        }
        catch (JsonException exception)
        {
            // The field checks leave only what they cannot see, such as a number out of range.
            problems.Add($"{path}{exception.Path?.TrimStart('$')}: the value cannot be read");
            return null;
        }
    }

    /// <summary>The section without its steps, which are read one by one.</summary>
    private static JsonElement WithoutSteps(JsonElement section)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in section.EnumerateObject())
            {
                if (property.Name != "steps")
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    internal static void CheckDimension(int value, string path, List<string> problems)
    {
        if (value is < 1 or > MaxDimension)
        {
            problems.Add($"{path}: is {value}; it must be 1..{MaxDimension}");
        }
    }

    private static void CheckStep(JsonElement step, string path, List<string> problems)
    {
        if (step.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{path}: must be an object such as {{\"op\": \"decode\"}}");
            return;
        }

        if (!step.TryGetProperty("op", out var op) || op.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{path}.op: is missing; it must be one of {PreprocessStep.AllOps}");
            return;
        }

        var typeInfo = PreprocessStep.TypeInfoFor(op.GetString()!);
        if (typeInfo is null)
        {
            problems.Add($"{path}.op: '{op.GetString()}' is not a step; it must be one of {PreprocessStep.AllOps}");
            return;
        }

        CheckFields(step, typeInfo, path, problems, "op");
    }

    /// <summary>
    /// Checks each field's name and JSON kind against the source-generated contract, so a typo or a
    /// wrong type is named precisely and every one is found, which a deserializer's first exception cannot do.
    /// </summary>
    private static void CheckFields(JsonElement element, JsonTypeInfo typeInfo, string path, List<string> problems, string? discriminator = null)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{path}: must be an object");
            return;
        }

        foreach (var field in element.EnumerateObject())
        {
            if (field.Name == discriminator)
            {
                continue;
            }

            JsonPropertyInfo? property = null;
            foreach (var candidate in typeInfo.Properties)
            {
                if (candidate.Set is not null && candidate.Name == field.Name)
                {
                    property = candidate;
                    break;
                }
            }

            var fieldPath = $"{path}.{field.Name}";
            if (property is null)
            {
                var known = new List<string>();
                foreach (var candidate in typeInfo.Properties)
                {
                    if (candidate.Set is not null)
                    {
                        known.Add(candidate.Name);
                    }
                }

                problems.Add(known.Count == 0
                    ? $"{fieldPath}: unknown field; this step takes none"
                    : $"{fieldPath}: unknown field; known fields are {string.Join(", ", known)}");
                continue;
            }

            var expected = Describe(property.PropertyType, field.Value);
            if (expected is not null)
            {
                problems.Add($"{fieldPath}: must be {expected}");
            }
        }
    }

    /// <returns>null when the value fits the type, otherwise what the value should be.</returns>
    private static string? Describe(Type type, JsonElement value)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return value.ValueKind == JsonValueKind.String ? null : "a string";
        }

        if (type == typeof(int))
        {
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _) ? null : "a whole number";
        }

        if (type == typeof(float))
        {
            return IsFiniteNumber(value) ? null : "a number";
        }

        if (type == typeof(bool))
        {
            return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "true or false";
        }

        if (type == typeof(float[]))
        {
            if (IsFiniteNumber(value))
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)
            {
                foreach (var item in value.EnumerateArray())
                {
                    if (!IsFiniteNumber(item))
                    {
                        return "a number or an array of numbers, one per channel";
                    }
                }

                return null;
            }

            return "a number or an array of numbers, one per channel";
        }

        if (type == typeof(List<PreprocessStep>))
        {
            return value.ValueKind == JsonValueKind.Array ? null : "an array of steps";
        }

        return null;
    }

    private static bool IsFiniteNumber(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out var number) && float.IsFinite(number);
}

/// <summary>The order of a tensor's dimensions. N is the batch, C the channels, H and W the rows and columns.</summary>
public enum TensorLayout
{
    Nchw,
    Nhwc,
    Chw,
    Hwc,
}

public static class TensorLayouts
{
    private static readonly string[] Names = ["NCHW", "NHWC", "CHW", "HWC"];

    public static string AllNames => string.Join(", ", Names);

    public static bool TryParse(string? name, out TensorLayout layout)
    {
        var index = Array.IndexOf(Names, name);
        layout = index < 0 ? TensorLayout.Nchw : (TensorLayout)index;
        return index >= 0;
    }

    extension(TensorLayout layout)
    {
        public bool HasBatch() => layout is TensorLayout.Nchw or TensorLayout.Nhwc;

        /// <summary>Planar (one plane per channel) rather than interleaved.</summary>
        public bool IsChannelsFirst() => layout is TensorLayout.Nchw or TensorLayout.Chw;

        public string Name() => Names[(int)layout];
    }
}

/// <summary>One step of a <see cref="PreprocessConfig"/>; <c>op</c> in JSON says which.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(DecodeStep), DecodeStep.Name)]
[JsonDerivedType(typeof(GrayscaleStep), GrayscaleStep.Name)]
[JsonDerivedType(typeof(InvertStep), InvertStep.Name)]
[JsonDerivedType(typeof(RemoveBackgroundStep), RemoveBackgroundStep.Name)]
[JsonDerivedType(typeof(AutocontrastStep), AutocontrastStep.Name)]
[JsonDerivedType(typeof(CropToInkStep), CropToInkStep.Name)]
[JsonDerivedType(typeof(FitStep), FitStep.Name)]
[JsonDerivedType(typeof(CenterOfMassStep), CenterOfMassStep.Name)]
[JsonDerivedType(typeof(ResizeStep), ResizeStep.Name)]
[JsonDerivedType(typeof(ResizeShorterStep), ResizeShorterStep.Name)]
[JsonDerivedType(typeof(CenterCropStep), CenterCropStep.Name)]
[JsonDerivedType(typeof(NormalizeStep), NormalizeStep.Name)]
public abstract class PreprocessStep
{
    private static readonly (string Op, JsonTypeInfo TypeInfo)[] Ops =
    [
        (DecodeStep.Name, PreprocessJsonContext.Default.DecodeStep),
        (GrayscaleStep.Name, PreprocessJsonContext.Default.GrayscaleStep),
        (InvertStep.Name, PreprocessJsonContext.Default.InvertStep),
        (RemoveBackgroundStep.Name, PreprocessJsonContext.Default.RemoveBackgroundStep),
        (AutocontrastStep.Name, PreprocessJsonContext.Default.AutocontrastStep),
        (CropToInkStep.Name, PreprocessJsonContext.Default.CropToInkStep),
        (FitStep.Name, PreprocessJsonContext.Default.FitStep),
        (CenterOfMassStep.Name, PreprocessJsonContext.Default.CenterOfMassStep),
        (ResizeStep.Name, PreprocessJsonContext.Default.ResizeStep),
        (ResizeShorterStep.Name, PreprocessJsonContext.Default.ResizeShorterStep),
        (CenterCropStep.Name, PreprocessJsonContext.Default.CenterCropStep),
        (NormalizeStep.Name, PreprocessJsonContext.Default.NormalizeStep),
    ];

    [JsonIgnore]
    public abstract string Op { get; }

    internal static string AllOps => string.Join(", ", Array.ConvertAll(Ops, op => op.Op));

    internal static JsonTypeInfo? TypeInfoFor(string op)
    {
        foreach (var (name, typeInfo) in Ops)
        {
            if (name == op)
            {
                return typeInfo;
            }
        }

        return null;
    }

    /// <param name="path">The step's path for messages, <c>preprocess.steps[i]</c>.</param>
    /// <param name="channels">The channels the image has when the step runs.</param>
    internal virtual void Validate(string path, int channels, List<string> problems)
    {
    }

    private protected static void CheckFraction(float value, string path, List<string> problems, bool allowZero = false, bool allowOne = true)
    {
        var low = allowZero ? value >= 0 : value > 0;
        var high = allowOne ? value <= 1 : value < 1;
        if (!low || !high)
        {
            problems.Add($"{path}: is {value.ToString(CultureInfo.InvariantCulture)}; it must be {(allowZero ? "0 or more" : "above 0")} and {(allowOne ? "at most 1" : "below 1")}");
        }
    }

    private protected static void CheckLevel(float value, string path, List<string> problems)
    {
        if (value is < 0 or > 255)
        {
            problems.Add($"{path}: is {value.ToString(CultureInfo.InvariantCulture)}; it must be a level 0..255");
        }
    }

    private protected static void CheckChoice(string value, string path, string[] choices, List<string> problems)
    {
        if (Array.IndexOf(choices, value) < 0)
        {
            problems.Add($"{path}: is '{value}'; it must be one of {string.Join(", ", choices)}");
        }
    }
}

/// <summary>
/// Reads the image (PNG, JPEG, WebP, BMP), applies its orientation, lays transparent parts on
/// <see cref="Background"/> and yields 3 channels. Large images are decoded at reduced size
/// where the codec can, then reduced by area averaging until the shorter side is <see cref="MinSide"/>.
/// </summary>
public sealed class DecodeStep : PreprocessStep
{
    public const string Name = "decode";

    public override string Op => Name;

    /// <summary>The shorter side the image is reduced to, never enlarged; by default 4 times the tensor's larger side.</summary>
    [JsonPropertyName("min_side")]
    public int? MinSide { get; set; }

    /// <summary>The grey level (0..255) transparent pixels are laid on.</summary>
    [JsonPropertyName("background")]
    public float Background { get; set; } = 255;

    internal override void Validate(string path, int channels, List<string> problems)
    {
        if (MinSide is { } minSide)
        {
            PreprocessConfig.CheckDimension(minSide, $"{path}.min_side", problems);
        }

        CheckLevel(Background, $"{path}.background", problems);
    }
}

/// <summary>Reduces RGB to one grey channel with the ITU-R BT.601 luma weights.</summary>
public sealed class GrayscaleStep : PreprocessStep
{
    public const string Name = "grayscale";

    public override string Op => Name;
}

/// <summary>Turns every level v into 255 - v; with <c>light_background</c> only when most of the image is light.</summary>
public sealed class InvertStep : PreprocessStep
{
    public const string Name = "invert";
    public const string Always = "always";
    public const string LightBackground = "light_background";

    public override string Op => Name;

    [JsonPropertyName("when")]
    public string When { get; set; } = Always;

    internal override void Validate(string path, int channels, List<string> problems) =>
        CheckChoice(When, $"{path}.when", [Always, LightBackground], problems);
}

/// <summary>
/// Subtracts the local background level, so paper lit unevenly becomes uniformly dark. It expects
/// ink brighter than its background (after invert): the level of each block is its darkest value,
/// and the levels are interpolated between block centres.
/// </summary>
public sealed class RemoveBackgroundStep : PreprocessStep
{
    public const string Name = "remove_background";

    public override string Op => Name;

    /// <summary>The side of a block as a fraction of the image's shorter side; larger than the widest stroke.</summary>
    [JsonPropertyName("block")]
    public float Block { get; set; } = 0.25f;

    internal override void Validate(string path, int channels, List<string> problems) =>
        CheckFraction(Block, $"{path}.block", problems);
}

/// <summary>
/// Stretches levels so the darkest becomes 0 and the brightest 255; levels below
/// <see cref="Cutoff"/> of the way from darkest to brightest become 0, which clears faint noise.
/// </summary>
public sealed class AutocontrastStep : PreprocessStep
{
    public const string Name = "autocontrast";

    public override string Op => Name;

    [JsonPropertyName("cutoff")]
    public float Cutoff { get; set; }

    internal override void Validate(string path, int channels, List<string> problems) =>
        CheckFraction(Cutoff, $"{path}.cutoff", problems, allowZero: true, allowOne: false);
}

/// <summary>Crops to the smallest rectangle holding every pixel brighter than <see cref="Threshold"/> × 255; an image without ink is kept whole.</summary>
public sealed class CropToInkStep : PreprocessStep
{
    public const string Name = "crop_to_ink";

    public override string Op => Name;

    [JsonPropertyName("threshold")]
    public float Threshold { get; set; } = 0.2f;

    internal override void Validate(string path, int channels, List<string> problems) =>
        CheckFraction(Threshold, $"{path}.threshold", problems, allowZero: true, allowOne: false);
}

/// <summary>Scales the image, keeping its aspect ratio, so it just fits a box of <see cref="Size"/> (or <see cref="Width"/> × <see cref="Height"/>).</summary>
public sealed class FitStep : PreprocessStep
{
    public const string Name = "fit";

    public override string Op => Name;

    /// <summary>The side of a square box; or give width and height.</summary>
    [JsonPropertyName("size")]
    public int? Size { get; set; }

    [JsonPropertyName("width")]
    public int? Width { get; set; }

    [JsonPropertyName("height")]
    public int? Height { get; set; }

    /// <summary>Whether an image smaller than the box is enlarged to fill it.</summary>
    [JsonPropertyName("upscale")]
    public bool Upscale { get; set; } = true;

    [JsonIgnore]
    public int BoxWidth => Size ?? Width ?? 0;

    [JsonIgnore]
    public int BoxHeight => Size ?? Height ?? 0;

    internal override void Validate(string path, int channels, List<string> problems)
    {
        if (Size is { } size)
        {
            if (Width is not null || Height is not null)
            {
                problems.Add($"{path}: give either size or width and height, not both");
            }

            PreprocessConfig.CheckDimension(size, $"{path}.size", problems);
        }
        else if (Width is null || Height is null)
        {
            problems.Add($"{path}: give size, or width and height, of the box");
        }
        else
        {
            PreprocessConfig.CheckDimension(Width.Value, $"{path}.width", problems);
            PreprocessConfig.CheckDimension(Height.Value, $"{path}.height", problems);
        }
    }
}

/// <summary>
/// Places the image in a <see cref="Width"/> × <see cref="Height"/> frame of <see cref="Fill"/>, shifted
/// by whole pixels so its centre of mass is at the frame's centre, as the MNIST digits were made.
/// </summary>
public sealed class CenterOfMassStep : PreprocessStep
{
    public const string Name = "center_of_mass";

    public override string Op => Name;

    [JsonPropertyName("width")]
    public int Width { get; set; }

    [JsonPropertyName("height")]
    public int Height { get; set; }

    [JsonPropertyName("fill")]
    public float Fill { get; set; }

    internal override void Validate(string path, int channels, List<string> problems)
    {
        PreprocessConfig.CheckDimension(Width, $"{path}.width", problems);
        PreprocessConfig.CheckDimension(Height, $"{path}.height", problems);
        CheckLevel(Fill, $"{path}.fill", problems);
    }
}

/// <summary>
/// Scales to exactly <see cref="Width"/> × <see cref="Height"/>: <c>stretch</c> ignores the aspect ratio,
/// <c>cover</c> fills the frame and crops the overflow evenly, <c>contain</c> fits inside and pads with <see cref="Fill"/>.
/// </summary>
public sealed class ResizeStep : PreprocessStep
{
    public const string Name = "resize";
    public const string Stretch = "stretch";
    public const string Cover = "cover";
    public const string Contain = "contain";

    public override string Op => Name;

    [JsonPropertyName("width")]
    public int Width { get; set; }

    [JsonPropertyName("height")]
    public int Height { get; set; }

    [JsonPropertyName("mode")]
    public string Mode { get; set; } = Stretch;

    [JsonPropertyName("fill")]
    public float Fill { get; set; }

    internal override void Validate(string path, int channels, List<string> problems)
    {
        PreprocessConfig.CheckDimension(Width, $"{path}.width", problems);
        PreprocessConfig.CheckDimension(Height, $"{path}.height", problems);
        CheckChoice(Mode, $"{path}.mode", [Stretch, Cover, Contain], problems);
        CheckLevel(Fill, $"{path}.fill", problems);
    }
}

/// <summary>
/// Scales, keeping the aspect ratio, so the shorter side is <see cref="Size"/>: torchvision's <c>Resize(size)</c>
/// with an int, whose longer side is <c>int(size * long / short)</c>.
/// </summary>
public sealed class ResizeShorterStep : PreprocessStep
{
    public const string Name = "resize_shorter";

    public override string Op => Name;

    [JsonPropertyName("size")]
    public int Size { get; set; }

    /// <summary>The size an image of <paramref name="width"/> × <paramref name="height"/> is scaled to.</summary>
    /// <remarks>
    /// In long and double as Python computes it: an integer product, one correctly rounded division, truncated, so the
    /// longer side is torchvision's to the pixel; long because an extreme aspect ratio overflows int, which callers refuse.
    /// </remarks>
    public static (long Width, long Height) OutputSize(int width, int height, int size)
    {
        var (shorter, longer) = width <= height ? (width, height) : (height, width);
        var scaledLonger = (long)((double)((long)size * longer) / shorter);
        return width <= height ? (size, scaledLonger) : (scaledLonger, size);
    }

    internal override void Validate(string path, int channels, List<string> problems) =>
        PreprocessConfig.CheckDimension(Size, $"{path}.size", problems);
}

/// <summary>
/// Cuts the centre <see cref="Width"/> × <see cref="Height"/> out, as torchvision's <c>CenterCrop</c>: an image
/// narrower or shorter than the crop is first padded with level 0 on both sides, the odd pixel on the right or bottom.
/// </summary>
public sealed class CenterCropStep : PreprocessStep
{
    public const string Name = "center_crop";

    public override string Op => Name;

    [JsonPropertyName("width")]
    public int Width { get; set; }

    [JsonPropertyName("height")]
    public int Height { get; set; }

    /// <summary>Where the crop starts along a side of <paramref name="length"/>; negative when it starts in the padding.</summary>
    /// <remarks>
    /// torchvision's <c>int(round((length - crop) / 2.0))</c>; Python rounds halves to even, as <see cref="Math.Round(double)"/>
    /// does, so a 481-wide image cropped to 224 starts at 128, not 129. The padding before is <c>(crop - length) // 2</c>.
    /// </remarks>
    public static int Offset(int length, int crop) =>
        crop > length ? -((crop - length) / 2) : (int)Math.Round((length - crop) / 2.0, MidpointRounding.ToEven);

    internal override void Validate(string path, int channels, List<string> problems)
    {
        PreprocessConfig.CheckDimension(Width, $"{path}.width", problems);
        PreprocessConfig.CheckDimension(Height, $"{path}.height", problems);
    }
}

/// <summary>Maps each level v of channel c to (v × <see cref="Scale"/> - mean[c]) / std[c]; mean and std take one value or one per channel.</summary>
public sealed class NormalizeStep : PreprocessStep
{
    public const string Name = "normalize";

    public override string Op => Name;

    [JsonPropertyName("scale")]
    public float Scale { get; set; } = 1;

    [JsonPropertyName("mean")]
    [JsonConverter(typeof(NumberOrNumbersConverter))]
    public float[] Mean { get; set; } = [0];

    [JsonPropertyName("std")]
    [JsonConverter(typeof(NumberOrNumbersConverter))]
    public float[] Std { get; set; } = [1];

    internal override void Validate(string path, int channels, List<string> problems)
    {
        if (Scale == 0)
        {
            problems.Add($"{path}.scale: is 0, which would erase the image");
        }

        if (Mean.Length != 1 && Mean.Length != channels)
        {
            problems.Add($"{path}.mean: has {Mean.Length} values; give 1, or {channels} (one per channel)");
        }

        if (Std.Length != 1 && Std.Length != channels)
        {
            problems.Add($"{path}.std: has {Std.Length} values; give 1, or {channels} (one per channel)");
        }

        for (var i = 0; i < Std.Length; i++)
        {
            if (Std[i] == 0)
            {
                problems.Add(Std.Length == 1 ? $"{path}.std: is 0, which divides by zero" : $"{path}.std: value {i} is 0, which divides by zero");
            }
        }
    }
}

/// <summary>Reads <c>0.5</c> as <c>[0.5]</c>, so a setting shared by every channel is written once.</summary>
internal sealed class NumberOrNumbersConverter : JsonConverter<float[]>
{
    public override float[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return [reader.GetSingle()];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("Expected a number or an array of numbers.");
        }

        var values = new List<float>(3);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            values.Add(reader.GetSingle());
        }

        return [.. values];
    }

    public override void Write(Utf8JsonWriter writer, float[] value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var item in value)
        {
            writer.WriteNumberValue(item);
        }

        writer.WriteEndArray();
    }
}

/// <summary>Source-generated JSON for <see cref="PreprocessConfig"/>; <c>op</c> may appear anywhere in a step.</summary>
[JsonSourceGenerationOptions(
    AllowOutOfOrderMetadataProperties = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(PreprocessConfig))]
[JsonSerializable(typeof(PreprocessStep))]
[JsonSerializable(typeof(DecodeStep))]
[JsonSerializable(typeof(GrayscaleStep))]
[JsonSerializable(typeof(InvertStep))]
[JsonSerializable(typeof(RemoveBackgroundStep))]
[JsonSerializable(typeof(AutocontrastStep))]
[JsonSerializable(typeof(CropToInkStep))]
[JsonSerializable(typeof(FitStep))]
[JsonSerializable(typeof(CenterOfMassStep))]
[JsonSerializable(typeof(ResizeStep))]
[JsonSerializable(typeof(ResizeShorterStep))]
[JsonSerializable(typeof(CenterCropStep))]
[JsonSerializable(typeof(NormalizeStep))]
internal sealed partial class PreprocessJsonContext : JsonSerializerContext;
