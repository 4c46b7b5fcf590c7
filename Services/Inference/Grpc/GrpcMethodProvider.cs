using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace MlPlatform.Inference.Grpc;

/// <summary>
/// Binds the service's methods as the generated binder does, each request parser turning a message that does not parse
/// into INVALID_ARGUMENT: left to gRPC, the parser's exception escapes the handler and the client gets UNKNOWN.
/// </summary>
internal sealed class GrpcMethodProvider : IServiceMethodProvider<GrpcInferenceService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<GrpcInferenceService> context) =>
        Protos.GRPCInferenceService.BindService(new Binder(context), null);

    private sealed class Binder(ServiceMethodProviderContext<GrpcInferenceService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var parsed = new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, Checked(method.RequestMarshaller), method.ResponseMarshaller);
            // The service's own override, or the generated base's, which answers UNIMPLEMENTED.
            var target = typeof(GrpcInferenceService).GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance, [typeof(TRequest), typeof(ServerCallContext)])
                ?? throw new InvalidOperationException($"{nameof(GrpcInferenceService)} has no method {method.Name}");
            context.AddUnaryMethod(parsed, [], target.CreateDelegate<UnaryServerMethod<GrpcInferenceService, TRequest, TResponse>>());
        }

        private static Marshaller<T> Checked<T>(Marshaller<T> marshaller) => new(
            marshaller.ContextualSerializer,
            context =>
            {
                try
                {
                    return marshaller.ContextualDeserializer(context);
                }
                catch (InvalidProtocolBufferException exception)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request is not a valid {typeof(T).Name} message: {exception.Message}"));
                }
            });
    }
}
