namespace MlPlatform.Preprocessing.Imaging;

/// <summary>Input the service cannot turn into a tensor; <see cref="StatusCode"/> and the message are what the client is told.</summary>
/// <param name="field">The request field at fault, such as <c>instances[2].b64</c>, or null for the body as a whole.</param>
internal sealed class PreprocessException(int statusCode, string message, string? field = null) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public string? Field { get; } = field;

    /// <summary>The same problem, attributed to a field of the request.</summary>
    public PreprocessException InField(string name) => new(StatusCode, Message, Field is null ? name : $"{name}.{Field}");
}
