namespace MlPlatform.Inference.Batching;

/// <summary>The model's queue is full; the client should retry later.</summary>
internal sealed class QueueFullException(string message) : Exception(message);
