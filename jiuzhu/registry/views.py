from django.http import HttpResponse


def household_list(request):
    return HttpResponse("todo")


def import_page(request):
    return HttpResponse("todo")
