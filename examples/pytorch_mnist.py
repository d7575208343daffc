"""The classic PyTorch MNIST example, written for shenjing: a two-convolution network trained
with Adadelta and a step-decayed learning rate, on the Fashion-MNIST subset bundled with
shenjing.

The program keeps PyTorch's spelling throughout (``class Net(nn.Module)``, ``F.nll_loss``,
``output.argmax(dim=1, keepdim=True)``, ``model.to(device)``), so it reads as the PyTorch
original does. Run ``python examples/pytorch_mnist.py`` for a quick run on a slice of the
data; ``--full`` trains on all 10,000 bundled images for three epochs (``--epochs 14`` gives
the PyTorch example's default length).
"""

from __future__ import annotations

import argparse
import time

from _common import Checks

import shenjing as sj
import shenjing.nn as nn
import shenjing.nn.functional as F
import shenjing.optim as optim
from shenjing.data import DataLoader, TensorDataset
from shenjing.optim.lr_scheduler import StepLR

# Fashion-MNIST's pixel mean and standard deviation (PyTorch's example uses MNIST's).
MEAN, STD = 0.2860, 0.3530


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = sj.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({100.0 * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}")
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with sj.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    accuracy = correct / len(test_loader.dataset)
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/"
          f"{len(test_loader.dataset)} ({100.0 * accuracy:.0f}%)\n")
    return accuracy


def main():
    # Training settings
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="input batch size for training (default: 64)")
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N",
                        help="input batch size for testing (default: 1000)")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="number of epochs to train (default: 1, or 3 with --full)")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR",
                        help="learning rate (default: 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M",
                        help="learning rate step gamma (default: 0.7)")
    parser.add_argument("--dry-run", action="store_true",
                        help="quickly check a single pass")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default: 1)")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N",
                        help="how many batches to wait before logging training status")
    parser.add_argument("--save-model", action="store_true",
                        help="save the trained model to mnist_cnn.safetensors")
    parser.add_argument("--full", action="store_true",
                        help="all 10,000 bundled training images and 2,000 test images, "
                             "3 epochs (default: a 2,000-image slice, 1 epoch)")
    args = parser.parse_args()
    epochs = args.epochs if args.epochs is not None else 3 if args.full else 1

    sj.manual_seed(args.seed)
    device = sj.device("cpu")

    (x_train, y_train), (x_test, y_test) = sj.data.load_fashion_mnist_small()
    if not args.full:  # a slice: the quick run takes seconds
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], \
            y_test[:500]
    x_train, x_test = (x_train - MEAN) / STD, (x_test - MEAN) / STD
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=args.test_batch_size)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        accuracy = test(model, device, test_loader)
        scheduler.step()
    print(f"{epochs} epoch(s) in {time.perf_counter() - start:.1f} s")

    if args.save_model:
        sj.save(model.state_dict(), "mnist_cnn.safetensors")

    check = Checks()
    if not args.dry_run:
        bar = 0.80 if args.full else 0.65
        check(accuracy >= bar, f"test accuracy {accuracy:.4f} >= {bar}")
    check.finish()


if __name__ == "__main__":
    main()
